"""Dashboard state: what one session shows, as ``param`` parameters, updated from room messages.

No widgets here: :meth:`DashboardState.apply` takes the same room messages the API sends
(``{type, room, data, timestamp, offset}``) and updates plain parameters, so a test drives it
without a server and the same object works in ``panel serve`` and in a notebook. The message
objects are shared by every session of a process (parsed once): the state keeps references to
them and never mutates them. Views watch the
parameters.

Examples
--------
>>> state = DashboardState()
>>> state.apply({"room": "tasks", "type": "task_progress_update", "timestamp": "x",
...              "data": {"tasks": [], "summary": {"total": 3, "pending": 1, "running": 1,
...                       "completed": 1, "failed": 0}}}, now=5.0)
>>> state.task_summary["total"], state.last_update
(3, 5.0)
"""

from __future__ import annotations

from collections import deque
from typing import Any

import param

from fogpanel.dashboard.timeline import Timelines

__all__ = ["HEALTH_COLORS", "SEVERITY_COLORS", "DashboardState"]

HEALTH_COLORS = {"healthy": "#2e9e44", "degraded": "#e6a100", "unhealthy": "#d62728"}
SEVERITY_COLORS = {"critical": "#d62728", "warning": "#e6a100", "info": "#1f77b4"}
_MAX_ALERTS = 100


class DashboardState(param.Parameterized):
    """The latest view of the cluster for one session."""

    health = param.Dict(default={"status": "unknown", "score": None},
                        doc="Composite health {status, score} from the metrics room.")
    services = param.Dict(default={}, doc="Per-service {status, last_check, response_time_ms, "
                                          "consecutive_failures, uptime_1h}.")
    health_history = param.List(default=[], doc="(time, score) points for the health strip.")
    betanet = param.Dict(default={}, doc="Betanet figures from the nodes room.")
    p2p = param.Dict(default={}, doc="P2P figures (counters and per-second rates).")
    node_history = param.List(default=[], doc="(time, latency ms, p2p msgs/s) for sparklines.")
    tasks = param.List(default=[], doc="Tasks, newest first.")
    task_summary = param.Dict(default={"total": 0, "pending": 0, "running": 0, "completed": 0,
                                       "failed": 0}, doc="Task counts by status.")
    alerts = param.List(default=[], doc="The last 100 alerts, newest first.")
    acknowledged = param.List(default=[], doc="alert_ids acknowledged in this session.")
    unseen_critical = param.Integer(default=0, doc="Critical alerts that arrived since the last "
                                                   "notification was shown.")
    resources = param.Dict(default={}, doc="Device count, averages, storage, busiest devices.")
    topology = param.Dict(default={"nodes": [], "links": []}, doc="Node/link map.")
    topology_changes = param.Integer(default=0, doc="Topology changes seen in this session.")
    sources = param.Dict(default={}, doc="Which sources are live.")
    last_update = param.Number(default=None, allow_None=True,
                               doc="When the last message arrived (epoch seconds).")
    connected = param.Boolean(default=True, doc="Whether the feed is subscribed.")
    timelines = param.ClassSelector(class_=Timelines, default=None, allow_None=True,
                                    precedence=-1, doc="""
        The process's shared histories (a served session); by default this state's own.""")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if self.timelines is None:
            self.timelines = Timelines()
        else:  # start from what the process has seen
            self.health_history = self.timelines.get("health")
            self.node_history = self.timelines.get("nodes")

    def apply(self, message: dict[str, Any], now: float) -> None:
        """Fold one room message into the state."""
        room, data = message.get("room"), message.get("data") or {}
        if message.get("type") == "error":  # e.g. history_gap: the next message repairs it
            return
        handler = getattr(self, f"_apply_{room}", None) if room in _ROOMS else None
        if handler is None:
            return
        handler(data, now)
        if isinstance(data, dict) and "sources" in data:
            self.sources = data["sources"]
        self.last_update = now

    def apply_all(self, messages: list[dict[str, Any]], now: float) -> None:
        """Fold a batch: alerts are added in one change (a burst of fifty threshold alerts would
        otherwise re-render the alert feed fifty times), other rooms one by one."""
        alerts = [m.get("data") or {} for m in messages
                  if m.get("room") == "alerts" and m.get("type") != "error"]
        for message in messages:
            if message.get("room") != "alerts":
                self.apply(message, now)
        if alerts:
            merged = deque(self.alerts, maxlen=_MAX_ALERTS)
            for data in alerts:
                merged.appendleft(data)
            critical = sum(1 for a in alerts
                           if a.get("severity") == "critical" and a.get("state") == "firing")
            self.alerts = list(merged)
            if critical:
                self.unseen_critical += critical
            self.last_update = now

    def stale(self, now: float, after: float = 30.0) -> bool:
        """True when nothing arrived for ``after`` seconds (the freshness indicator)."""
        return self.last_update is None or now - self.last_update > after

    def _apply_metrics(self, data: dict[str, Any], now: float) -> None:
        self.health = data.get("composite_health", self.health)
        self.services = data.get("services", {})
        self.health_history = self.timelines.add("health", data, (now, self.health.get("score")))

    def _apply_nodes(self, data: dict[str, Any], now: float) -> None:
        self.betanet = data.get("betanet", {})
        self.p2p = data.get("p2p", {})
        self.node_history = self.timelines.add(
            "nodes", data, (now, self.betanet.get("avg_latency_ms", 0.0),
                            self.p2p.get("messages_sent_per_second", 0.0)))

    def _apply_tasks(self, data: dict[str, Any], now: float) -> None:
        self.tasks = data.get("tasks", [])
        self.task_summary = data.get("summary", self.task_summary)

    def _apply_alerts(self, data: dict[str, Any], now: float) -> None:
        alerts = deque(self.alerts, maxlen=_MAX_ALERTS)
        alerts.appendleft(data)
        self.alerts = list(alerts)
        if data.get("severity") == "critical" and data.get("state") == "firing":
            self.unseen_critical += 1

    def _apply_resources(self, data: dict[str, Any], now: float) -> None:
        self.resources = data

    def _apply_topology(self, data: dict[str, Any], now: float) -> None:
        self.topology_changes += 1
        self.topology = data

    def acknowledge(self, alert_id: str) -> None:
        if alert_id not in self.acknowledged:
            self.acknowledged = [*self.acknowledged, alert_id]


_ROOMS = frozenset({"metrics", "nodes", "tasks", "alerts", "resources", "topology"})
