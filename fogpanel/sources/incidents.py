"""Incidents the simulator injects, on a schedule or on demand, labelled for alert checks.

An incident has a kind, a target, a start and an end. Starting and ending one queues an alert
(``firing`` then ``resolved``) labelled ``incident:<kind>`` so the metrics issue can check that
every injected incident becomes an alert. The effects on the cluster are applied by the
simulator; this module only decides what happens when.

Examples
--------
>>> book = IncidentBook(seed=1, interval=600.0, now=0.0)
>>> inc = book.open("node_crash", "node-004", now=10.0)
>>> inc.label, inc.severity, inc.ends
('incident:node_crash', 'critical', 250.0)
>>> [a["state"] for a in book.drain_alerts()]
['firing']
>>> [i.id for i in book.due_to_end(now=250.0)]
['inc-0001']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fogpanel.protocol.messages import iso

__all__ = ["KINDS", "Incident", "IncidentBook"]

# kind -> (severity, duration seconds, title)
KINDS: dict[str, tuple[str, float, str]] = {
    "cpu_runaway": ("critical", 120.0, "CPU runaway on {target}"),
    "latency_degradation": ("warning", 180.0, "Latency degraded on mixnode {target}"),
    "node_crash": ("critical", 240.0, "Node {target} crashed"),
    "task_failure_burst": ("warning", 60.0, "Task failure burst"),
}


@dataclass
class Incident:
    id: str
    kind: str
    target: str
    started: float
    ends: float
    severity: str

    @property
    def label(self) -> str:
        return f"incident:{self.kind}"

    def alert(self, state: str, now: float) -> dict[str, Any]:
        """The alert this incident raises (``firing``) or clears (``resolved``)."""
        title = KINDS[self.kind][2].format(target=self.target)
        return {
            "id": f"{self.id}-{state}",
            "alert_id": self.id,
            "title": title,
            "message": f"{title} ({'since' if state == 'firing' else 'ended'} {iso(now)})",
            "priority": self.severity,
            "severity": self.severity,
            "state": state,
            "source": "simulator",
            "target": self.target,
            "incident": self.label,
            "labels": {"kind": self.kind, "target": self.target},
            "started_at": iso(self.started),
            "resolved_at": iso(now) if state == "resolved" else None,
        }


class IncidentBook:
    """Open incidents, the schedule of the next one, and the alert queue."""

    def __init__(self, seed: int, interval: float, now: float) -> None:
        self._rng = np.random.default_rng([seed, 4])
        self.interval = interval
        self.next_at = now + interval if interval > 0 else float("inf")
        self.open_incidents: dict[str, Incident] = {}
        self.history: list[Incident] = []
        self._alerts: list[dict[str, Any]] = []
        self._seq = 0

    def scheduled_kind(self, now: float) -> str | None:
        """The kind of incident due now by the schedule, if one is (then schedules the next)."""
        if now < self.next_at:
            return None
        self.next_at = now + self.interval
        kinds = sorted(KINDS)
        return kinds[int(self._rng.integers(len(kinds)))]

    def pick(self, options: list[str]) -> str:
        return options[int(self._rng.integers(len(options)))]

    def open(self, kind: str, target: str, now: float) -> Incident:
        severity, duration, _ = KINDS[kind]
        self._seq += 1
        inc = Incident(f"inc-{self._seq:04d}", kind, target, now, now + duration, severity)
        self.open_incidents[inc.id] = inc
        self.history.append(inc)
        self._alerts.append(inc.alert("firing", now))
        return inc

    def due_to_end(self, now: float) -> list[Incident]:
        """Close and return the incidents whose time is up (their resolved alerts are queued)."""
        done = [i for i in self.open_incidents.values() if now >= i.ends]
        for inc in done:
            del self.open_incidents[inc.id]
            self._alerts.append(inc.alert("resolved", now))
        return done

    def drain_alerts(self) -> list[dict[str, Any]]:
        """Every queued alert, oldest first; the queue is emptied."""
        alerts, self._alerts = self._alerts, []
        return alerts
