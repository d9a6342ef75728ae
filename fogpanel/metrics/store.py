"""The history store: SQLite in WAL mode, raw samples and 1-minute / 1-hour rollups.

:class:`HistoryStore` is synchronous and obvious: one connection, parameterised batches, time
passed in. :class:`StoreWriter` owns it on **one** dedicated thread: the event loop only puts
samples on a queue; the thread commits a batch at least every ``flush_interval`` seconds, and a
caller that needs durability (an acknowledged ingest) waits for the commit of its batch. A
process crash loses at most the samples of the last flush interval that nobody waited for.

WAL mode lets a notebook or another process read the file while the server writes.

Retention: raw samples 24 h, 1-minute rollups 7 days, 1-hour rollups ``rollup_1h_days``.

Compaction keeps a week of history small: recent raw samples and 1-minute rollups are plain rows
(cheap to insert, durable at each commit); every few minutes complete 10-minute chunks of raw
samples and complete hours of 1-minute rollups are packed into zlib blobs (timestamps
delta-encoded, raw values float64; rollup avg/min/max/last float32, about 7 significant
digits). Queries read rows and blobs alike.
Queries pick the resolution from the time range: raw up to 6 hours, 1-minute up to 3 days,
1-hour beyond.

Examples
--------
>>> store = HistoryStore(":memory:")
>>> store.write([("cpu", 0.0, 1.0), ("cpu", 30.0, 3.0), ("cpu", 70.0, 5.0)])
>>> [tuple(r) for r in store.query("cpu", 0.0, 100.0, resolution="1m")[["count", "avg"]]
...  .itertuples(index=False)]
[(2, 2.0), (1, 5.0)]
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["HistoryStore", "StoreWriter", "pick_resolution"]

logger = logging.getLogger("fogpanel.store")

SCHEMA = """
CREATE TABLE IF NOT EXISTS series (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);
CREATE TABLE IF NOT EXISTS raw (
    series INTEGER NOT NULL, ts REAL NOT NULL, value REAL NOT NULL,
    PRIMARY KEY (series, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_1m (
    series INTEGER NOT NULL, bucket INTEGER NOT NULL, count INTEGER NOT NULL,
    sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, last REAL NOT NULL,
    PRIMARY KEY (series, bucket)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS raw_chunks (
    series INTEGER NOT NULL, start INTEGER NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (series, start)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_1m_chunks (
    series INTEGER NOT NULL, hour INTEGER NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (series, hour)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alert_log (ts REAL NOT NULL, json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS alert_log_ts ON alert_log (ts);
CREATE TABLE IF NOT EXISTS state (
    kind TEXT NOT NULL, key TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_1h (
    series INTEGER NOT NULL, bucket INTEGER NOT NULL, count INTEGER NOT NULL,
    sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, last REAL NOT NULL,
    PRIMARY KEY (series, bucket)
) WITHOUT ROWID;
"""

_UPSERT = """
INSERT INTO {table} (series, bucket, count, sum, min, max, last) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (series, bucket) DO UPDATE SET
    count = count + excluded.count, sum = sum + excluded.sum,
    min = min(min, excluded.min), max = max(max, excluded.max), last = excluded.last
"""

RAW_KEEP = 24 * 3600.0
RAW_CHUNK = 600  # seconds of raw samples per packed chunk
COMPACT_GRACE = 120.0  # late samples this old are still merged into rows, not chunks
ROLLUP_1M_KEEP = 7 * 86400.0
RESOLUTIONS = {"raw": 0, "1m": 60, "1h": 3600}


def pick_resolution(start: float, end: float) -> str:
    """raw up to 6 h, 1-minute rollups up to 3 days, 1-hour rollups beyond.

    >>> pick_resolution(0, 3600), pick_resolution(0, 86400), pick_resolution(0, 7 * 86400)
    ('raw', '1m', '1h')
    """
    span = end - start
    if span <= 6 * 3600:
        return "raw"
    if span <= 3 * 86400:
        return "1m"
    return "1h"


class HistoryStore:
    """Synchronous access to one SQLite file (or ``:memory:``)."""

    def __init__(self, path: str | Path, *, rollup_1h_days: float = 90.0,
                 readonly: bool = False) -> None:
        self.path = str(path)
        self.rollup_1h_keep = rollup_1h_days * 86400.0
        if readonly:
            self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True,
                                      check_same_thread=False)
        else:
            self.db = sqlite3.connect(self.path, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
        self._ids: dict[str, int] = {}

    def close(self) -> None:
        self.db.close()

    def _series_id(self, name: str) -> int:
        sid = self._ids.get(name)
        if sid is None:
            row = self.db.execute("SELECT id FROM series WHERE name = ?", (name,)).fetchone()
            if row is None:
                sid = self.db.execute("INSERT INTO series (name) VALUES (?)", (name,)).lastrowid
            else:
                sid = row[0]
            assert sid is not None
            self._ids[name] = sid
        return sid

    def write(self, samples: Iterable[tuple[str, float, float]]) -> None:
        """Insert ``(name, ts, value)`` samples and fold them into the rollups; one commit."""
        raw = []
        m1: dict[tuple[int, int], list[float]] = {}
        h1: dict[tuple[int, int], list[float]] = {}
        for name, ts, value in samples:
            sid = self._series_id(name)
            raw.append((sid, ts, value))
            for table, width in ((m1, 60), (h1, 3600)):
                key = (sid, int(ts // width) * width)
                agg = table.get(key)
                if agg is None:
                    table[key] = [1, value, value, value, value, ts]
                else:
                    agg[0] += 1
                    agg[1] += value
                    agg[2] = min(agg[2], value)
                    agg[3] = max(agg[3], value)
                    if ts >= agg[5]:
                        agg[4], agg[5] = value, ts
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO raw (series, ts, value) VALUES (?, ?, ?)",
                                raw)
            for table_name, table in (("rollup_1m", m1), ("rollup_1h", h1)):
                self.db.executemany(_UPSERT.format(table=table_name), [
                    (sid, bucket, a[0], a[1], a[2], a[3], a[4])
                    for (sid, bucket), a in table.items()])

    def set_state(self, kind: str, key: str, value: str | None) -> None:
        """Keep (or with None, forget) a JSON document: active alerts, silences."""
        with self.db:
            if value is None:
                self.db.execute("DELETE FROM state WHERE kind = ? AND key = ?", (kind, key))
            else:
                self.db.execute("INSERT OR REPLACE INTO state (kind, key, json) VALUES (?, ?, ?)",
                                (kind, key, value))

    def log_alert(self, ts: float, doc: str) -> None:
        with self.db:
            self.db.execute("INSERT INTO alert_log (ts, json) VALUES (?, ?)", (ts, doc))

    def recent_alerts(self, limit: int = 100) -> list[str]:
        """The last ``limit`` alerts logged, newest first."""
        rows = self.db.execute("SELECT json FROM alert_log ORDER BY ts DESC, rowid DESC LIMIT ?",
                               (limit,)).fetchall()
        return [r[0] for r in rows]

    def load_state(self, kind: str) -> dict[str, str]:
        rows = self.db.execute("SELECT key, json FROM state WHERE kind = ?", (kind,)).fetchall()
        return dict(rows)

    def compact(self, now: float) -> dict[str, int]:
        """Pack complete raw chunks and complete hours of 1-minute rollups into blobs."""
        raw_cut = int((now - COMPACT_GRACE) // RAW_CHUNK) * RAW_CHUNK
        hour_cut = int((now - COMPACT_GRACE) // 3600) * 3600
        packed = {"raw": 0, "rollup_1m": 0}
        with self.db:
            rows = self.db.execute("SELECT series, ts, value FROM raw WHERE ts < ? "
                                   "ORDER BY series, ts", (raw_cut,)).fetchall()
            groups: dict[tuple[int, int], list[tuple[float, float]]] = {}
            for sid, ts, value in rows:
                groups.setdefault((sid, int(ts // RAW_CHUNK) * RAW_CHUNK), []).append((ts, value))
            for (sid, start), items in groups.items():
                old = self.db.execute("SELECT data FROM raw_chunks WHERE series = ? AND start = ?",
                                      (sid, start)).fetchone()
                if old is not None:
                    items = sorted({**dict(_unpack_raw(old[0], start)), **dict(items)}.items())
                self.db.execute("INSERT OR REPLACE INTO raw_chunks VALUES (?, ?, ?)",
                                (sid, start, _pack_raw(items, start)))
            self.db.execute("DELETE FROM raw WHERE ts < ?", (raw_cut,))
            packed["raw"] = len(rows)
            rows = self.db.execute("SELECT series, bucket, count, sum, min, max, last FROM "
                                   "rollup_1m WHERE bucket < ? ORDER BY series, bucket",
                                   (hour_cut,)).fetchall()
            hours: dict[tuple[int, int], dict[int, tuple[float, ...]]] = {}
            for sid, bucket, count, total, lo, hi, last in rows:
                hour = int(bucket // 3600) * 3600
                hours.setdefault((sid, hour), {})[bucket] = (count, total, lo, hi, last)
            for (sid, hour), minutes in hours.items():
                old = self.db.execute("SELECT data FROM rollup_1m_chunks WHERE series = ? AND "
                                      "hour = ?", (sid, hour)).fetchone()
                if old is not None:
                    for bucket, agg in _unpack_minutes(old[0], hour).items():
                        minutes[bucket] = _merge(agg, minutes[bucket]) if bucket in minutes \
                            else agg
                self.db.execute("INSERT OR REPLACE INTO rollup_1m_chunks VALUES (?, ?, ?)",
                                (sid, hour, _pack_minutes(minutes, hour)))
            self.db.execute("DELETE FROM rollup_1m WHERE bucket < ?", (hour_cut,))
            packed["rollup_1m"] = len(rows)
        return packed

    def enforce_retention(self, now: float) -> dict[str, int]:
        """Delete what is past its retention; return the rows deleted per table."""
        with self.db:
            deleted = {
                "raw": self.db.execute("DELETE FROM raw WHERE ts < ?",
                                       (now - RAW_KEEP,)).rowcount
                + self.db.execute("DELETE FROM raw_chunks WHERE start + ? <= ?",
                                  (RAW_CHUNK, now - RAW_KEEP)).rowcount,
                "rollup_1m": self.db.execute("DELETE FROM rollup_1m WHERE bucket < ?",
                                             (now - ROLLUP_1M_KEEP,)).rowcount
                + self.db.execute("DELETE FROM rollup_1m_chunks WHERE hour + 3600 <= ?",
                                  (now - ROLLUP_1M_KEEP,)).rowcount,
                "rollup_1h": self.db.execute("DELETE FROM rollup_1h WHERE bucket < ?",
                                             (now - self.rollup_1h_keep,)).rowcount,
                "alert_log": self.db.execute("DELETE FROM alert_log WHERE ts < ?",
                                             (now - ROLLUP_1M_KEEP,)).rowcount,
            }
        return deleted

    def names(self, prefix: str = "") -> list[str]:
        rows = self.db.execute("SELECT name FROM series WHERE name LIKE ? ESCAPE '\\' "
                               "ORDER BY name", (_like_prefix(prefix),)).fetchall()
        return [r[0] for r in rows]

    def has(self, name: str) -> bool:
        return self.db.execute("SELECT 1 FROM series WHERE name = ?", (name,)).fetchone() \
            is not None

    def query(self, name: str, start: float, end: float,
              resolution: str | None = None) -> pd.DataFrame:
        """Samples or rollups of ``name`` in ``[start, end]`` as a DataFrame.

        Raw: columns ``ts, value``. Rollups: ``ts, count, avg, min, max, last`` (``ts`` is the
        bucket start). ``ts`` is UTC epoch seconds.
        """
        resolution = resolution or pick_resolution(start, end)
        if resolution not in RESOLUTIONS:
            raise ValueError(f"resolution must be one of {', '.join(RESOLUTIONS)}")
        row = self.db.execute("SELECT id FROM series WHERE name = ?", (name,)).fetchone()
        if resolution == "raw":
            points: dict[float, float] = {}
            if row is not None:
                sid = row[0]
                for chunk_start, data in self.db.execute(
                        "SELECT start, data FROM raw_chunks WHERE series = ? AND start > ? "
                        "AND start <= ? ORDER BY start", (sid, start - RAW_CHUNK, end)):
                    points.update(_unpack_raw(data, chunk_start))
                points.update(self.db.execute(
                    "SELECT ts, value FROM raw WHERE series = ? AND ts >= ? AND ts <= ?",
                    (sid, start, end)).fetchall())
            items = sorted((t, v) for t, v in points.items() if start <= t <= end)
            return pd.DataFrame(items, columns=["ts", "value"])
        width = RESOLUTIONS[resolution]
        first = int(start // width) * width
        buckets: dict[int, tuple[float, ...]] = {}
        if row is not None:
            sid = row[0]
            if resolution == "1m":
                for hour, data in self.db.execute(
                        "SELECT hour, data FROM rollup_1m_chunks WHERE series = ? AND hour > ? "
                        "AND hour <= ?", (sid, first - 3600, end)):
                    buckets.update(_unpack_minutes(data, hour))
            for bucket, *agg in self.db.execute(
                    f"SELECT bucket, count, sum, min, max, last FROM rollup_{resolution} "
                    "WHERE series = ? AND bucket >= ? AND bucket <= ?", (sid, first, end)):
                buckets[bucket] = _merge(buckets[bucket], tuple(agg)) if bucket in buckets \
                    else tuple(agg)
        rows = [(b, int(a[0]), a[1] / a[0], a[2], a[3], a[4])
                for b, a in sorted(buckets.items()) if first <= b <= end and a[0] > 0]
        return pd.DataFrame(rows, columns=["ts", "count", "avg", "min", "max", "last"])


def _merge(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, ...]:
    """Two (count, sum, min, max, last) aggregates of one bucket; ``b`` is the newer."""
    return (a[0] + b[0], a[1] + b[1], min(a[2], b[2]), max(a[3], b[3]), b[4])


def _pack_raw(items: list[tuple[float, float]], start: int) -> bytes:
    ts = np.array([t for t, _ in items], dtype=np.float64)
    ms = np.round((ts - start) * 1000).astype(np.int64)
    deltas = np.diff(ms, prepend=0).astype("<u4")
    values = np.array([v for _, v in items], dtype="<f8")
    return zlib.compress(np.uint32(len(items)).tobytes() + deltas.tobytes() + values.tobytes(), 6)


def _unpack_raw(data: bytes, start: int) -> list[tuple[float, float]]:
    raw = zlib.decompress(data)
    n = int(np.frombuffer(raw[:4], dtype="<u4")[0])
    deltas = np.frombuffer(raw[4:4 + 4 * n], dtype="<u4").astype(np.int64)
    values = np.frombuffer(raw[4 + 4 * n:], dtype="<f8")
    ts = start + np.cumsum(deltas) / 1000.0
    return list(zip(ts.tolist(), values.tolist(), strict=True))


_MINUTE = np.dtype([("count", "<u4"), ("avg", "<f4"), ("min", "<f4"), ("max", "<f4"),
                    ("last", "<f4")])


def _pack_minutes(minutes: dict[int, tuple[float, ...]], hour: int) -> bytes:
    table = np.zeros(60, dtype=_MINUTE)
    for bucket, (count, total, lo, hi, last) in minutes.items():
        table[(bucket - hour) // 60] = (count, total / count, lo, hi, last)
    return zlib.compress(table.tobytes(), 6)


def _unpack_minutes(data: bytes, hour: int) -> dict[int, tuple[float, ...]]:
    table = np.frombuffer(zlib.decompress(data), dtype=_MINUTE)
    out = {}
    for i in np.flatnonzero(table["count"]):
        rec = table[i]
        count = int(rec["count"])
        out[hour + 60 * int(i)] = (count, float(rec["avg"]) * count, float(rec["min"]),
                                   float(rec["max"]), float(rec["last"]))
    return out


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class StoreWriter:
    """Runs a :class:`HistoryStore` on one thread; the loop only enqueues."""

    def __init__(self, path: str | Path, *, flush_interval: float = 0.5,
                 retention_every: float = 300.0, rollup_1h_days: float = 90.0,
                 clock: Any = time.time) -> None:
        if not 0 < flush_interval <= 1.0:
            raise ValueError("flush_interval must be in (0, 1] seconds")
        self.path = str(path)
        self.flush_interval = flush_interval
        self.retention_every = retention_every
        self._rollup_1h_days = rollup_1h_days
        self._clock = clock
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="fogpanel-store", daemon=True)
        self._ready = threading.Event()
        self.written = 0
        self.flushes = 0
        self.errors = 0
        self._thread.start()
        self._ready.wait(10)

    def put(self, samples: list[tuple[str, float, float]]) -> None:
        """Queue samples for the next flush (never blocks the caller)."""
        if samples:
            self._queue.put(samples)

    def put_durable(self, samples: list[tuple[str, float, float]]) -> Future[None]:
        """Queue samples; the future resolves once they are committed."""
        done: Future[None] = Future()
        self._queue.put((samples, done))
        return done

    def put_state(self, kind: str, key: str, value: str | None) -> None:
        """Queue a state change (written in order with the samples)."""
        self._queue.put(("state", kind, key, value))

    def put_alert(self, ts: float, doc: str) -> None:
        """Queue an alert for the alert log (kept 7 days)."""
        self._queue.put(("state", "__log__", str(ts), doc))

    def close(self, timeout: float = 10.0) -> None:
        """Flush what is queued and stop the thread."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        store = HistoryStore(self.path, rollup_1h_days=self._rollup_1h_days)
        self._ready.set()
        next_retention = self._clock()
        stopping = False
        while not stopping:
            batch: list[tuple[str, float, float]] = []
            waiters: list[Future[None]] = []
            states: list[tuple[str, str, str | None]] = []
            deadline = time.monotonic() + self.flush_interval
            while True:
                timeout = deadline - time.monotonic()
                try:
                    item = self._queue.get(timeout=max(timeout, 0.0)) if timeout > 0 else \
                        self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                if isinstance(item, tuple) and item[0] == "state":
                    states.append(item[1:])
                elif isinstance(item, tuple):
                    batch.extend(item[0])
                    waiters.append(item[1])
                    deadline = min(deadline, time.monotonic() + 0.02)  # someone is waiting
                else:
                    batch.extend(item)
            # State first: a caller waiting on its samples also sees the alerts they raised.
            for kind, key, value in states:
                try:
                    if kind == "__log__":
                        assert value is not None
                        store.log_alert(float(key), value)
                    else:
                        store.set_state(kind, key, value)
                except Exception:
                    self.errors += 1
                    logger.error("store state write failed", exc_info=True)
            if batch:
                try:
                    store.write(batch)
                    self.written += len(batch)
                    self.flushes += 1
                    for w in waiters:
                        w.set_result(None)
                except Exception as exc:
                    self.errors += 1
                    logger.error("store write failed", exc_info=True)
                    for w in waiters:
                        w.set_exception(exc)
            else:
                for w in waiters:
                    w.set_result(None)
            now = self._clock()
            if now >= next_retention:
                try:
                    store.compact(now)
                    store.enforce_retention(now)
                except Exception:
                    logger.error("retention failed", exc_info=True)
                next_retention = now + self.retention_every
        store.close()
