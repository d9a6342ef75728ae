"""The six room payloads, built from the cluster (field names kept from the predecessor).

Each method takes ``now`` and returns the ``(type, data)`` messages to publish, and sends the
samples it saw to the metrics sink. ``alerts`` also steps the cluster: the simulator advances once
per ``sim_tick`` and every alert it queued goes out at once, not one per second.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from fogpanel.config import Settings
from fogpanel.metrics.sink import MetricSink, Sample
from fogpanel.protocol.messages import iso
from fogpanel.publishers.runner import Publisher
from fogpanel.sources.cluster import Cluster

__all__ = ["RoomPublishers", "top_devices"]

_DEVICE_METRICS = (("cpu", "cpu_usage"), ("memory", "memory_usage"),
                   ("storage", "storage_usage"), ("battery", "battery"))
_OFF_BETANET = {"active_nodes": 0, "connections": 0, "avg_latency_ms": 0.0,
                "packets_processed": 0, "packets_per_second": 0.0, "available": False}
_OFF_P2P = {"connected_peers": 0, "messages_sent": 0, "messages_received": 0,
            "messages_sent_per_second": 0.0, "messages_received_per_second": 0.0,
            "available": False}


def top_devices(devices: list[dict[str, Any]], n: int = 10) -> list[dict[str, Any]]:
    """The ``n`` busiest devices by CPU (offline ones last).

    >>> [d["id"] for d in top_devices([{"id": "a", "cpu": 5, "status": "online"},
    ...                                 {"id": "b", "cpu": 50, "status": "online"}], 1)]
    ['b']
    """
    live = sorted((d for d in devices if d["status"] != "offline"), key=lambda d: -d["cpu"])
    return live[:n]


class RoomPublishers:
    """Payload builders for the rooms, over one cluster and one sink."""

    def __init__(self, cluster: Cluster, sink: MetricSink, settings: Settings, *,
                 alert_filter: Callable[[dict[str, Any]], bool] | None = None) -> None:
        self.cluster = cluster
        self.sink = sink
        self.settings = settings
        self._keep = alert_filter or (lambda alert: True)
        self._topology_signature: str | None = None
        self.topology_changes = 0

    def publishers(self) -> list[Publisher]:
        s = self.settings
        return [
            Publisher("alerts", "alerts", s.sim_tick, self.alerts),
            Publisher("nodes", "nodes", s.nodes_interval, self.nodes),
            Publisher("tasks", "tasks", s.tasks_interval, self.tasks),
            Publisher("metrics", "metrics", s.metrics_interval, self.metrics),
            Publisher("resources", "resources", s.resources_interval, self.resources),
            Publisher("topology", "topology", s.topology_interval, self.topology),
        ]

    def _record(self, now: float, pairs: list[tuple[str, float]]) -> None:
        self.sink.record(Sample(name, float(value), now) for name, value in pairs)

    def alerts(self, now: float) -> list[tuple[str, Any]]:
        self.cluster.step(now)
        sim = self.cluster.simulator
        if sim is None:
            return []
        alerts = [{**alert, "timestamp": iso(now)} for alert in sim.drain_alerts()]
        return [("alert", alert) for alert in alerts if self._keep(alert)]

    def nodes(self, now: float) -> list[tuple[str, Any]]:
        sim = self.cluster.simulator
        betanet = sim.betanet() if sim else dict(_OFF_BETANET)
        p2p = sim.p2p() if sim else dict(_OFF_P2P)
        if sim is not None:
            self._record(now, [(n, v) for n, v in sim.samples()
                               if n.startswith(("betanet.", "p2p."))])
        return [("node_status_update", {"betanet": betanet, "p2p": p2p,
                                        "sources": self.cluster.sources(now)})]

    def tasks(self, now: float) -> list[tuple[str, Any]]:
        sim = self.cluster.simulator
        if sim is None:
            summary = {"total": 0, "pending": 0, "running": 0, "completed": 0, "failed": 0}
            return [("task_progress_update", {"tasks": [], "summary": summary})]
        self._record(now, [(n, v) for n, v in sim.samples() if n.startswith("tasks.")])
        return [("task_progress_update", {"tasks": sim.task_rows(), "summary":
                                          sim.tasks.summary()})]

    def metrics(self, now: float) -> list[tuple[str, Any]]:
        board = self.cluster.health
        sim = self.cluster.simulator
        if sim is not None:
            for name, (status, response_ms) in sim.service_checks().items():
                board.record(name, status, response_ms, now)
        agents = self.cluster.agents
        if agents is not None:
            board.record("agent-ingest", "healthy", 1.0, now)
        snap = board.snapshot(now)
        self._record(now, [("health.score", snap["composite_health"]["score"])] + [
            (f"service.{name}.response_time_ms", svc["response_time_ms"])
            for name, svc in snap["services"].items()])
        return [("metrics_update", {**snap, "sources": self.cluster.sources(now)})]

    def resources(self, now: float) -> list[tuple[str, Any]]:
        devices = self.cluster.devices(now)
        live = [d for d in devices if d["status"] not in ("offline", "stale")]
        samples: list[tuple[str, float]] = []
        for d in devices:
            if d["source"] == "agent":
                continue  # agents' samples are recorded when they are ingested
            for key, metric in _DEVICE_METRICS:
                if d.get(key) is not None:
                    samples.append((f"device.{d['id']}.{metric}", d[key]))
        self._record(now, samples)
        by_source: dict[str, int] = {}
        for d in devices:
            by_source[d["source"]] = by_source.get(d["source"], 0) + 1
        return [("resource_update", {
            "device_count": len(devices),
            "online_devices": len(live),
            "avg_cpu": round(sum(d["cpu"] for d in live) / len(live), 1) if live else 0.0,
            "avg_memory": round(sum(d["memory"] for d in live) / len(live), 1) if live else 0.0,
            "total_storage_gb": round(sum(d.get("storage_total_gb") or 0 for d in devices), 1),
            "devices_by_source": by_source,
            "devices_details": [
                {k: d.get(k) for k in ("id", "cpu", "memory", "storage", "status", "class",
                                       "real", "source")} for d in top_devices(devices)],
            "sources": self.cluster.sources(now),
        })]

    def topology(self, now: float) -> list[tuple[str, Any]]:
        sim = self.cluster.simulator
        if sim is None:
            return []
        topo = sim.topology()
        shape = {"nodes": topo["nodes"], "links": topo["links"]}
        signature = hashlib.sha1(json.dumps(shape, sort_keys=True).encode()).hexdigest()
        if signature == self._topology_signature:
            return []
        self._topology_signature = signature
        self.topology_changes += 1
        return [("topology_change", {**topo, "change_number": self.topology_changes})]
