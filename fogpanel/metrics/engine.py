"""The metrics engine: the process's metric sink, tying aggregator, rules, silences and store.

It is the thin, stateful shell around the pure parts: every sample the publishers and agents
produce goes through :meth:`record` (on the event loop); anomaly and threshold alerts that no
silence mutes go to the ``alerts`` room at once; the samples go to the store's writer thread, and
so do the firing alerts and the silences, so both survive a restart. An ingest that must be
durable awaits :meth:`record_durable`, which resolves once its samples are committed.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from typing import Any

from fogpanel.metrics.aggregator import Aggregator
from fogpanel.metrics.rules import RuleEngine
from fogpanel.metrics.silences import Silence, Silences
from fogpanel.metrics.sink import Sample
from fogpanel.metrics.store import HistoryStore, StoreWriter

__all__ = ["MetricsEngine"]


class MetricsEngine:
    """Aggregator + rules + silences + store writer + alert publication."""

    def __init__(self, aggregator: Aggregator, writer: StoreWriter | None,
                 publish_alert: Callable[[dict[str, Any]], None], *,
                 rules: RuleEngine | None = None, silences: Silences | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.aggregator = aggregator
        self.writer = writer
        self.rules = rules if rules is not None else RuleEngine()
        self.silences = silences if silences is not None else Silences()
        self._publish_alert = publish_alert
        self._clock = clock
        self.silenced = 0
        self.acknowledged: dict[str, str] = {}
        self._restore()

    # -- samples ----------------------------------------------------------------------------

    def _alerts_for(self, batch: list[Sample]) -> None:
        alerts = self.aggregator.update(batch)
        for sample in batch:
            alerts += self.rules.evaluate(sample.name, sample.value, sample.ts)
        for alert in alerts:
            self.emit(alert)

    def record(self, samples: Iterable[Sample]) -> None:
        """Take samples: windows, detectors, rules, alerts; queue them for the store."""
        batch = list(samples)
        self._alerts_for(batch)
        if self.writer is not None:
            self.writer.put([(s.name, s.ts, s.value) for s in batch])

    async def record_durable(self, samples: Iterable[Sample]) -> None:
        """Like :meth:`record`, returning once the samples are committed to the store."""
        batch = list(samples)
        self._alerts_for(batch)
        if self.writer is not None:
            await asyncio.wrap_future(
                self.writer.put_durable([(s.name, s.ts, s.value) for s in batch]))

    # -- alerts -----------------------------------------------------------------------------

    def emit(self, alert: dict[str, Any]) -> bool:
        """Publish ``alert`` unless a silence mutes it; persist rule alert state. True if sent."""
        if alert.get("kind") == "threshold" and self.writer is not None:
            value = json.dumps(alert) if alert["state"] == "firing" else None
            self.writer.put_state("alert", alert["alert_id"], value)
        if not self.keep(alert):
            return False
        self._publish_alert(alert)
        return True

    def keep(self, alert: dict[str, Any]) -> bool:
        """Log ``alert``; False when a silence mutes it (also the filter for the simulator's)."""
        now = self._clock()
        silence = self.silences.match(alert, now)
        if self.writer is not None:
            logged = {**alert, "silenced_by": silence.id} if silence is not None else alert
            self.writer.put_alert(now, json.dumps(logged))
        if silence is not None:
            self.silenced += 1
            return False
        return True

    def active_alerts(self) -> list[dict[str, Any]]:
        now = self._clock()
        out = []
        for rule_name, series, track in self.rules.active():
            rule = next(r for r in self.rules.rules if r.name == rule_name)
            msg = self.rules.message(rule, series, track, "firing", track.started)
            msg["silenced"] = self.silences.match(msg, now) is not None
            msg["acknowledged_by"] = self.acknowledged.get(msg["alert_id"])
            out.append(msg)
        return out

    def acknowledge(self, alert_id: str, by: str) -> None:
        """Record that someone has seen the alert (shown in the alerts API and dashboards)."""
        self.acknowledged[alert_id] = by
        if self.writer is not None:
            self.writer.put_state("ack", alert_id, json.dumps({"by": by, "at": self._clock()}))

    # -- silences ---------------------------------------------------------------------------

    def add_silence(self, matchers: Any, duration: float, author: Any, comment: Any) -> Silence:
        silence = self.silences.add(matchers, duration, author, comment, self._clock())
        if self.writer is not None:
            self.writer.put_state("silence", silence.id, json.dumps(asdict(silence)))
        return silence

    def expire_silence(self, silence_id: str) -> bool:
        ok = self.silences.expire(silence_id, self._clock())
        silence = self.silences.get(silence_id)
        if ok and silence is not None and self.writer is not None:
            self.writer.put_state("silence", silence.id, json.dumps(asdict(silence)))
        return ok

    # -- lifecycle --------------------------------------------------------------------------

    def _restore(self) -> None:
        """Firing alerts and silences from the store: they survive a restart."""
        if self.writer is None:
            return
        store = HistoryStore(self.writer.path, readonly=True)
        try:
            for doc in store.load_state("alert").values():
                a = json.loads(doc)
                started = _epoch(a["started_at"])
                self.rules.restore(a["rule"], a["metric"], a["severity"], started, a["value"])
            for doc in store.load_state("silence").values():
                self.silences.restore(Silence(**json.loads(doc)))
            for key, doc in store.load_state("ack").items():
                self.acknowledged[key] = json.loads(doc)["by"]
        finally:
            store.close()

    def reader(self) -> HistoryStore | None:
        """A fresh read-only connection to the store file (use it on one thread, then close)."""
        if self.writer is None:
            return None
        return HistoryStore(self.writer.path, readonly=True)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = self.aggregator.summary(self._clock())
        out["alerts_firing"] = len(self.rules.active())
        out["alerts_silenced"] = self.silenced
        if self.writer is not None:
            out["store"] = {"path": self.writer.path, "written": self.writer.written,
                            "flushes": self.writer.flushes, "errors": self.writer.errors,
                            "flush_interval": self.writer.flush_interval}
        return out


def _epoch(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
