"""Room payloads from a stepped cluster: field names, change detection, alerts, sink names."""

from __future__ import annotations

from fogpanel.config import Settings
from fogpanel.metrics.sink import ListSink
from fogpanel.publishers.rooms import RoomPublishers
from fogpanel.sources.cluster import Cluster
from fogpanel.sources.ingest import AgentRegistry, validate_batch
from fogpanel.sources.simulator import Simulator

SETTINGS = Settings(secret="s" * 40)


def make(agents: bool = False) -> tuple[RoomPublishers, ListSink]:
    sim = Simulator(seed=4, nodes=10, devices=25, task_rate=2.0, now=0.0, incident_interval=0)
    cluster = Cluster(simulator=sim, agents=AgentRegistry(30, 120) if agents else None)
    sink = ListSink()
    return RoomPublishers(cluster, sink, SETTINGS), sink


def test_payloads_keep_the_predecessor_field_names():
    """nodes, tasks, metrics and resources carry the documented fields."""
    rooms, _ = make()
    for t in range(1, 31):
        rooms.alerts(float(t))
    (kind, nodes), = rooms.nodes(30.0)
    assert kind == "node_status_update"
    assert {"active_nodes", "connections", "avg_latency_ms", "packets_processed",
            "available"} <= set(nodes["betanet"])
    assert {"connected_peers", "messages_sent", "messages_received", "available",
            "messages_sent_per_second"} <= set(nodes["p2p"])
    (kind, tasks), = rooms.tasks(30.0)
    assert kind == "task_progress_update"
    assert set(tasks["summary"]) == {"total", "pending", "running", "completed", "failed"}
    assert {"id", "name", "status", "progress", "start_time",
            "estimated_completion"} <= set(tasks["tasks"][0])
    (kind, metrics), = rooms.metrics(30.0)
    assert kind == "metrics_update"
    assert metrics["composite_health"]["status"] in ("healthy", "degraded", "unhealthy")
    svc = next(iter(metrics["services"].values()))
    assert {"status", "last_check", "consecutive_failures", "uptime_1h"} <= set(svc)
    (kind, res), = rooms.resources(30.0)
    assert kind == "resource_update" and res["device_count"] == 25
    details = res["devices_details"]
    assert len(details) == 10
    assert [d["cpu"] for d in details] == sorted((d["cpu"] for d in details), reverse=True)
    assert {"id", "cpu", "memory", "storage", "status", "real"} <= set(details[0])


def test_topology_published_only_on_change():
    """The first check publishes; unchanged checks publish nothing; a crash publishes again."""
    rooms, _ = make()
    rooms.alerts(1.0)
    first = rooms.topology(1.0)
    assert [k for k, _ in first] == ["topology_change"] and first[0][1]["change_number"] == 1
    assert rooms.topology(2.0) == [] and rooms.topology(3.0) == []
    sim = rooms.cluster.simulator
    sim.trigger("node_crash", now=4.0)
    (kind, topo), = rooms.topology(4.0)
    assert topo["change_number"] == 2 and topo["active_nodes"] == first[0][1]["active_nodes"] - 1


def test_all_queued_alerts_go_out_in_one_tick():
    """Several incidents in one tick give all their alerts in that tick, with priority."""
    rooms, _ = make()
    rooms.alerts(1.0)
    sim = rooms.cluster.simulator
    for kind in ("cpu_runaway", "node_crash", "task_failure_burst"):
        sim.trigger(kind, now=1.5)
    out = rooms.alerts(2.0)
    assert [k for k, _ in out] == ["alert"] * 3
    assert [a["priority"] for _, a in out] == ["critical", "critical", "warning"]
    assert rooms.alerts(3.0) == []


def test_samples_reach_the_sink_with_dotted_names():
    """What the publishers see is recorded: device.<id>.cpu_usage, betanet.*, tasks.*."""
    rooms, sink = make()
    for t in range(1, 11):
        rooms.alerts(float(t))
    rooms.nodes(10.0)
    rooms.tasks(10.0)
    rooms.resources(10.0)
    names = {s.name for s in sink.samples}
    device = rooms.cluster.simulator.fleet.ids[0]
    assert {"betanet.avg_latency_ms", "p2p.connected_peers", "tasks.failed_rate",
            f"device.{device}.cpu_usage"} <= names


def test_agent_devices_appear_marked_real():
    """An agent-reported device is listed like a simulated one, marked real, with sources."""
    rooms, _ = make(agents=True)
    rooms.alerts(1.0)
    ok, _ = validate_batch({"node_id": "edge-real", "timestamp": 1.0,
                            "metrics": {"cpu_usage": 99.0, "memory_usage": 50.0}}, now=1.0)
    rooms.cluster.agents.accept(ok[0], reported_by="agent", now=1.0)
    (_, res), = rooms.resources(2.0)
    top = res["devices_details"][0]
    assert (top["id"], top["real"], top["source"]) == ("edge-real", True, "agent")
    assert res["sources"] == {"simulator": True, "host": False, "agents": 1}
