"""The SQLite history store: rollups, retention with a stepped clock, readers, durability."""

from __future__ import annotations

import sqlite3
import threading

import numpy as np
import pandas as pd
import pytest

from fogpanel.metrics.store import HistoryStore, StoreWriter, pick_resolution


def samples(name: str, start: float, n: int, step: float = 10.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    values = rng.normal(40, 5, n)
    return [(name, start + i * step, float(v)) for i, v in enumerate(values)]


def test_rollups_match_pandas_resample(tmp_path):
    """1-minute and 1-hour rollups equal a pandas resample of the raw samples."""
    store = HistoryStore(tmp_path / "h.sqlite")
    data = samples("device.a.cpu_usage", 1_700_000_000.0, 2000, step=7.0)
    for i in range(0, len(data), 333):  # several batches fold into the same buckets
        store.write(data[i:i + 333])
    frame = pd.DataFrame(data, columns=["name", "ts", "value"])
    frame["t"] = pd.to_datetime(frame["ts"], unit="s")
    start, end = data[0][1], data[-1][1]
    for res, rule in (("1m", "60s"), ("1h", "3600s")):
        got = store.query("device.a.cpu_usage", start - 3600, end, resolution=res)
        want = frame.resample(rule, on="t")["value"].agg(["count", "mean", "min", "max", "last"])
        want = want[want["count"] > 0]
        assert got["count"].tolist() == want["count"].tolist()
        assert np.allclose(got["avg"], want["mean"]) and np.allclose(got["min"], want["min"])
        assert np.allclose(got["max"], want["max"]) and np.allclose(got["last"], want["last"])
    raw = store.query("device.a.cpu_usage", start, start + 3600, resolution="raw")
    assert len(raw) == len([d for d in data if d[1] <= start + 3600])


def test_retention_runs_by_the_clock(tmp_path):
    """Raw rows go after 24 h, 1-minute rollups after 7 days, 1-hour after the setting."""
    store = HistoryStore(tmp_path / "h.sqlite", rollup_1h_days=30)
    day = 86400.0
    store.write(samples("m", 0.0, 10) + samples("m", 10 * day, 10))
    deleted = store.enforce_retention(now=10 * day + 100)
    assert deleted["raw"] == 10 and deleted["rollup_1m"] >= 1 and deleted["rollup_1h"] == 0
    assert len(store.query("m", 0, 11 * day, resolution="raw")) == 10
    assert len(store.query("m", 0, 11 * day, resolution="1m")) >= 1
    assert store.enforce_retention(now=45 * day)["rollup_1h"] == 2
    assert store.query("m", 0, 50 * day, resolution="1h").empty


def test_resolution_follows_the_range():
    """raw for hours, 1m for days, 1h for a week."""
    assert [pick_resolution(0, h * 3600) for h in (1, 6, 24, 72, 168)] == \
        ["raw", "raw", "1m", "1m", "1h"]


def test_a_second_connection_reads_while_the_writer_writes(tmp_path):
    """A notebook-style reader sees committed data while the writer thread keeps writing."""
    path = tmp_path / "h.sqlite"
    writer = StoreWriter(path, flush_interval=0.05, clock=lambda: 0.0)
    stop = threading.Event()
    counts = []

    def read() -> None:
        reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        while not stop.is_set():
            counts.append(reader.execute("SELECT count(*) FROM raw").fetchone()[0])
        reader.close()

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for i in range(20):
            writer.put_durable(samples("m", 1000.0 + i * 1000, 50, seed=i)).result(10)
    finally:
        stop.set()
        thread.join(10)
        writer.close()
    assert counts and counts == sorted(counts) and max(counts) >= 500
    assert HistoryStore(path, readonly=True).query("m", 0, 1e6, "raw").shape[0] == 1000


def test_durable_put_resolves_after_commit(tmp_path):
    """The future of put_durable resolves only when another connection can see the rows."""
    path = tmp_path / "h.sqlite"
    writer = StoreWriter(path, flush_interval=1.0, clock=lambda: 0.0)
    try:
        writer.put_durable([("m", 1.0, 2.0)]).result(5)
        other = sqlite3.connect(path)
        assert other.execute("SELECT value FROM raw").fetchall() == [(2.0,)]
        other.close()
    finally:
        writer.close()
    with pytest.raises(ValueError):
        StoreWriter(path, flush_interval=2.0)


def test_compaction_keeps_every_answer(tmp_path):
    """Packing raw chunks and 1-minute hours changes no query result (floats to float32)."""
    store = HistoryStore(tmp_path / "h.sqlite")
    start = 1_700_000_000.0
    data = samples("m", start, 3000, step=10.0, seed=4)
    store.write(data)
    end = data[-1][1]
    before_raw = store.query("m", start, end, "raw")
    before_1m = store.query("m", start, end, "1m")
    packed = store.compact(now=end + 3600)
    assert packed["raw"] == 3000 and packed["rollup_1m"] == len(before_1m)
    assert store.db.execute("SELECT count(*) FROM raw").fetchone()[0] == 0
    after_raw = store.query("m", start, end, "raw")
    after_1m = store.query("m", start, end, "1m")
    assert np.allclose(after_raw["ts"], before_raw["ts"], rtol=0, atol=1e-3)
    assert after_raw["value"].tolist() == before_raw["value"].tolist()
    assert after_1m["count"].tolist() == before_1m["count"].tolist()
    assert np.allclose(after_1m[["avg", "min", "max", "last"]],
                       before_1m[["avg", "min", "max", "last"]], rtol=1e-6)
    # a late sample for a packed chunk is merged at the next compaction
    store.write([("m", start + 5.0, 123.0)])
    store.compact(now=end + 3600)
    raw = store.query("m", start, start + 20, "raw")
    assert raw["value"].tolist()[:2] == [data[0][2], 123.0]
    assert store.query("m", start, end, "1m")["count"].sum() == 3001


def test_retention_reaches_packed_chunks(tmp_path):
    """Packed raw chunks go after 24 h and packed minutes after 7 days."""
    store = HistoryStore(tmp_path / "h.sqlite")
    store.write(samples("m", 0.0, 720))  # two hours
    store.compact(now=10 * 3600)
    assert store.db.execute("SELECT count(*) FROM raw_chunks").fetchone()[0] == 12
    store.enforce_retention(now=2 * 86400)
    assert store.query("m", 0, 7200, "raw").empty
    assert len(store.query("m", 0, 7200, "1m")) == 120
    store.enforce_retention(now=9 * 86400)
    assert store.query("m", 0, 7200, "1m").empty
