"""The history store: SQLite in WAL mode, raw samples and 1-minute / 1-hour rollups.

:class:`HistoryStore` is synchronous and obvious: one connection, parameterised batches, time
passed in. :class:`StoreWriter` owns it on **one** dedicated thread: the event loop only puts
samples on a queue; the thread commits a batch at least every ``flush_interval`` seconds, and a
caller that needs durability (an acknowledged ingest) waits for the commit of its batch. A
process crash loses at most the samples of the last flush interval that nobody waited for.

WAL mode lets a notebook or another process read the file while the server writes.

Retention: raw samples 24 h, 1-minute rollups 7 days, 1-hour rollups ``rollup_1h_days``.
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
from collections.abc import Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

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

    def load_state(self, kind: str) -> dict[str, str]:
        rows = self.db.execute("SELECT key, json FROM state WHERE kind = ?", (kind,)).fetchall()
        return dict(rows)

    def enforce_retention(self, now: float) -> dict[str, int]:
        """Delete what is past its retention; return the rows deleted per table."""
        with self.db:
            deleted = {
                "raw": self.db.execute("DELETE FROM raw WHERE ts < ?",
                                       (now - RAW_KEEP,)).rowcount,
                "rollup_1m": self.db.execute("DELETE FROM rollup_1m WHERE bucket < ?",
                                             (now - ROLLUP_1M_KEEP,)).rowcount,
                "rollup_1h": self.db.execute("DELETE FROM rollup_1h WHERE bucket < ?",
                                             (now - self.rollup_1h_keep,)).rowcount,
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
        if resolution == "raw":
            sql = ("SELECT r.ts AS ts, r.value AS value FROM raw r JOIN series s "
                   "ON s.id = r.series WHERE s.name = ? AND r.ts >= ? AND r.ts <= ? "
                   "ORDER BY r.ts")
            return pd.read_sql_query(sql, self.db, params=(name, start, end))
        width = RESOLUTIONS[resolution]
        sql = (f"SELECT r.bucket AS ts, r.count AS count, r.sum / r.count AS avg, r.min AS min, "
               f"r.max AS max, r.last AS last FROM rollup_{resolution} r JOIN series s "
               f"ON s.id = r.series WHERE s.name = ? AND r.bucket >= ? AND r.bucket <= ? "
               f"ORDER BY r.bucket")
        start_bucket = int(start // width) * width
        return pd.read_sql_query(sql, self.db, params=(name, start_bucket, end))


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
            for kind, key, value in states:
                try:
                    store.set_state(kind, key, value)
                except Exception:
                    self.errors += 1
                    logger.error("store state write failed", exc_info=True)
            now = self._clock()
            if now >= next_retention:
                try:
                    store.enforce_retention(now)
                except Exception:
                    logger.error("retention failed", exc_info=True)
                next_retention = now + self.retention_every
        store.close()
