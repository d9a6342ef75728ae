"""Metrics engine benchmark: record path, history queries, storage and memory per metric.

- Record path per sample: windows + detector + anomaly gate + store enqueue (the work done on the
  event loop), over many series in the order publishers produce them; baseline in the same run:
  the windows alone.
- History queries through the real store: 24 h of one metric (1-minute rollups), 7 days (1-hour
  rollups), and 1 hour raw, from a file holding 7 days of 10-second samples for several metrics.
- Storage per metric for 7 days of 10-second samples (the file size after retention), and
  Python memory per tracked metric (tracemalloc).

Usage: ``python bench/metrics.py [--series 200] [--samples 300000] [--store-metrics 4]``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from fogpanel.metrics.aggregator import Aggregator  # noqa: E402
from fogpanel.metrics.engine import MetricsEngine  # noqa: E402
from fogpanel.metrics.sink import Sample  # noqa: E402
from fogpanel.metrics.store import HistoryStore, StoreWriter  # noqa: E402
from fogpanel.metrics.windows import SeriesWindows  # noqa: E402

DAY = 86400.0


def _samples(series: int, total: int, start: float) -> list[list[Sample]]:
    """Batches of one sample per series every 10 s (as a publisher tick would send them)."""
    rng = np.random.default_rng(0)
    ticks = total // series
    noise = rng.normal(0, 2, (ticks, series))
    names = [f"device.d{i:04d}.cpu_usage" for i in range(series)]
    out = []
    for k in range(ticks):
        t = start + 10.0 * k
        base = 40 + 15 * math.sin(2 * math.pi * t / DAY)
        out.append([Sample(names[j], float(base + noise[k, j]), t) for j in range(series)])
    return out


def bench_record(series: int, total: int) -> dict[str, float]:
    batches = _samples(series, total, 1_700_000_000.0)
    n = sum(len(b) for b in batches)
    with tempfile.TemporaryDirectory() as tmp:
        writer = StoreWriter(Path(tmp) / "h.sqlite", flush_interval=0.5)
        engine = MetricsEngine(Aggregator(learn_samples=100), writer, lambda alert: None)
        started = time.process_time()
        for batch in batches:
            engine.record(batch)
        full = time.process_time() - started
        writer.close(timeout=120)
    windows: dict[str, SeriesWindows] = {}
    started = time.process_time()
    for batch in batches:
        for s in batch:
            w = windows.get(s.name)
            if w is None:
                w = windows[s.name] = SeriesWindows()
            w.add(s.value, s.ts)
    base = time.process_time() - started
    return {"samples": n, "series": series,
            "record_us_per_sample": round(full / n * 1e6, 2),
            "record_samples_per_s": round(n / full),
            "windows_only_us_per_sample": round(base / n * 1e6, 2),
            "anomalies": engine.aggregator.anomalies_raised}


def bench_store(metrics: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "h.sqlite"
        store = HistoryStore(path)
        end = 1_700_000_000.0
        start = end - 7 * DAY
        names = [f"device.d{i}.cpu_usage" for i in range(metrics)]
        rng = np.random.default_rng(1)
        t = start
        while t < end:
            chunk = np.arange(t, min(t + 6 * 3600, end), 10.0)
            batch = [(name, float(ts), float(v)) for name in names
                     for ts, v in zip(chunk, rng.normal(40, 5, len(chunk)), strict=True)]
            store.write(batch)
            t += 6 * 3600
            store.compact(t)  # as the writer thread does every few minutes
        store.compact(end)
        store.enforce_retention(end)
        store.db.execute("VACUUM")
        store.close()
        size = os.path.getsize(path)
        reader = HistoryStore(path, readonly=True)
        timings: dict[str, list[float]] = {"raw_1h": [], "day_1m": [], "week_1h": []}
        for _ in range(20):
            for key, span, res in (("raw_1h", 3600, "raw"), ("day_1m", DAY, "1m"),
                                   ("week_1h", 7 * DAY, "1h")):
                t0 = time.perf_counter()
                frame = reader.query(names[0], end - span, end, res)
                timings[key].append((time.perf_counter() - t0) * 1000)
                assert len(frame) > 0
        reader.close()
    return {
        "store_metrics": metrics,
        "file_kib": round(size / 1024, 1),
        "kib_per_metric_7d_10s": round(size / 1024 / metrics, 1),
        **{f"query_{k}_ms_median": round(statistics.median(v), 2) for k, v in timings.items()},
    }


def bench_memory(series: int) -> dict[str, float]:
    batches = _samples(series, series * 400, 1_700_000_000.0)
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    agg = Aggregator(learn_samples=100)
    for batch in batches:
        agg.update(batch)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    used = sum(s.size_diff for s in after.compare_to(before, "filename"))
    return {"kib_per_tracked_metric_after_400_samples": round(used / series / 1024, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=200)
    parser.add_argument("--samples", type=int, default=300_000)
    parser.add_argument("--store-metrics", type=int, default=4)
    args = parser.parse_args()
    result = {
        "record": bench_record(args.series, args.samples),
        "store": bench_store(args.store_metrics),
        "memory": bench_memory(args.series),
    }
    print(json.dumps(result, indent=2))
    r, s, m = result["record"], result["store"], result["memory"]
    print()
    print(f"record path: {r['record_us_per_sample']} us/sample "
          f"({r['record_samples_per_s']} samples/s on one core; windows alone "
          f"{r['windows_only_us_per_sample']} us)")
    print(f"queries: 1 h raw {s['query_raw_1h_ms_median']} ms, 24 h {s['query_day_1m_ms_median']}"
          f" ms, 7 d {s['query_week_1h_ms_median']} ms")
    print(f"storage: {s['kib_per_metric_7d_10s']} KiB per metric for 7 days of 10 s samples; "
          f"memory: {m['kib_per_tracked_metric_after_400_samples']} KiB per tracked metric")
    return 0


if __name__ == "__main__":
    sys.exit(main())
