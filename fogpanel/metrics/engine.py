"""The metrics engine: the process's metric sink, tying the aggregator, the store and alerts.

It is the thin, stateful shell around the pure :class:`Aggregator`: every sample the publishers
and agents produce goes through :meth:`record` (on the event loop), anomaly alerts go to the
``alerts`` room at once, and the samples go to the store's writer thread. An ingest that must be
durable awaits :meth:`record_durable`, which resolves once its samples are committed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Any

from fogpanel.metrics.aggregator import Aggregator
from fogpanel.metrics.sink import Sample
from fogpanel.metrics.store import HistoryStore, StoreWriter

__all__ = ["MetricsEngine"]


class MetricsEngine:
    """Aggregator + store writer + alert publication."""

    def __init__(self, aggregator: Aggregator, writer: StoreWriter | None,
                 publish_alert: Callable[[dict[str, Any]], None]) -> None:
        self.aggregator = aggregator
        self.writer = writer
        self._publish_alert = publish_alert

    def record(self, samples: Iterable[Sample]) -> None:
        """Take samples: update windows and detectors, publish anomalies, queue for the store."""
        batch = list(samples)
        for alert in self.aggregator.update(batch):
            self._publish_alert(alert)
        if self.writer is not None:
            self.writer.put([(s.name, s.ts, s.value) for s in batch])

    async def record_durable(self, samples: Iterable[Sample]) -> None:
        """Like :meth:`record`, returning once the samples are committed to the store."""
        batch = list(samples)
        for alert in self.aggregator.update(batch):
            self._publish_alert(alert)
        if self.writer is not None:
            await asyncio.wrap_future(
                self.writer.put_durable([(s.name, s.ts, s.value) for s in batch]))

    def reader(self) -> HistoryStore | None:
        """A fresh read-only connection to the store file (use it on one thread, then close)."""
        if self.writer is None:
            return None
        return HistoryStore(self.writer.path, readonly=True)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = self.aggregator.summary(time.time())
        if self.writer is not None:
            out["store"] = {"path": self.writer.path, "written": self.writer.written,
                            "flushes": self.writer.flushes, "errors": self.writer.errors,
                            "flush_interval": self.writer.flush_interval}
        return out
