"""Score fogpanel's real anomaly path on a NAB-format corpus.

For each series: a fresh detector from ``fogpanel.metrics.detectors.make_detector`` and a fresh
``AnomalyGate`` (one frozen threshold, a cool-down), fed one sample at a time, score before
learn, no look-ahead; the first 15 % (at most 750 rows) only learn. Prints the three NAB profile
scores (``bench/nab_score.py``), alerts per series per day, and microseconds per sample;
``--out RESULTS`` writes NAB's results layout
(``RESULTS/fogpanel/<category>/fogpanel_<file>.csv``: timestamp,value,anomaly_score,label with
anomaly_score 1.0 exactly where fogpanel alerts).

Usage: ``python bench/anomaly_nab.py --corpus DIR --labels FILE [--out RESULTS]
[--detector novelty]``
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nab_score import PROFILES, Series, load_corpus, normalised  # noqa: E402

from fogpanel.metrics.anomaly import AnomalyGate  # noqa: E402
from fogpanel.metrics.detectors import make_detector  # noqa: E402


def run_series(series: Series, detector: str) -> tuple[list[bool], float]:
    """Alerts per row, and the seconds spent in detection."""
    model = make_detector(detector)
    assert model is not None
    gate = AnomalyGate()
    learn_only = min(math.floor(0.15 * len(series.values)), 750)
    alerts = [False] * len(series.values)
    started = time.perf_counter()
    for i, (stamp, x) in enumerate(zip(series.timestamps, series.values, strict=True)):
        t = stamp.timestamp()
        score = model.score_one(x, t)
        if i >= learn_only:
            alerts[i] = gate.check(score)
        model.learn_one(x, t)
    return alerts, time.perf_counter() - started


def write_results(out: Path, series: Series, alerts: list[bool]) -> None:
    category, name = series.key.split("/")
    folder = out / "fogpanel" / category
    folder.mkdir(parents=True, exist_ok=True)
    inside = [False] * len(series.values)
    for left, right in series.windows:
        for i in range(left, right + 1):
            inside[i] = True
    with (folder / f"fogpanel_{name}").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["timestamp", "value", "anomaly_score", "label"])
        for stamp, x, hit, label in zip(series.timestamps, series.values, alerts, inside,
                                        strict=True):
            writer.writerow([stamp.strftime("%Y-%m-%d %H:%M:%S"), x, 1.0 if hit else 0.0,
                             int(label)])


def evaluate(corpus: Path, labels: Path, detector: str = "novelty",
             out: Path | None = None) -> dict[str, object]:
    series = load_corpus(corpus, labels)
    pairs = []
    seconds = 0.0
    samples = 0
    per_series = {}
    for s in series:
        alerts, took = run_series(s, detector)
        seconds += took
        samples += len(s.values)
        days = max((s.timestamps[-1] - s.timestamps[0]).total_seconds() / 86400, 1e-9)
        per_series[s.key] = {"alerts": sum(alerts), "alerts_per_day": round(sum(alerts) / days, 3),
                             "windows": len(s.windows)}
        pairs.append((alerts, s))
        if out is not None:
            write_results(out, s, alerts)
    scores = {name: round(normalised(pairs, profile), 2) for name, profile in PROFILES.items()}
    no_anomaly = sum(v["alerts"] for k, v in per_series.items()
                     if k.startswith("artificialNoAnomaly/"))
    total_days = sum((s.timestamps[-1] - s.timestamps[0]).total_seconds() / 86400
                     for s in series)
    return {
        "detector": detector,
        "series": len(series),
        "windows": sum(len(s.windows) for s in series),
        "scores": scores,
        "alerts_total": sum(v["alerts"] for v in per_series.values()),
        "alerts_per_series_per_day": round(
            sum(v["alerts"] for v in per_series.values()) / max(total_days, 1e-9), 3),
        "alerts_on_artificialNoAnomaly": no_anomaly,
        "us_per_sample": round(seconds / max(samples, 1) * 1e6, 2),
        "per_series": per_series,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--labels", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--detector", default="novelty", help="novelty | zscore | hst")
    args = parser.parse_args()
    result = evaluate(args.corpus, args.labels, args.detector, args.out)
    print(json.dumps(result, indent=2))
    print()
    s = result["scores"]
    print(f"detector {result['detector']}: standard {s['standard']}  "  # type: ignore[index]
          f"reward_low_FP_rate {s['reward_low_FP_rate']}  "  # type: ignore[index]
          f"reward_low_FN_rate {s['reward_low_FN_rate']}  "  # type: ignore[index]
          f"alerts/series/day {result['alerts_per_series_per_day']}  "
          f"no-anomaly alerts {result['alerts_on_artificialNoAnomaly']}  "
          f"us/sample {result['us_per_sample']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
