"""The six publishers on a real server with accelerated cadences, seen by a real client."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

from tests.conftest import recv, wait_until

FAST = {"sim_tick": 0.05, "nodes_interval": 0.25, "tasks_interval": 0.1,
        "metrics_interval": 0.5, "resources_interval": 0.3, "topology_interval": 0.05,
        "incident_interval": 0.0, "sources": ("simulator", "agents")}
TYPES = {"nodes": "node_status_update", "tasks": "task_progress_update",
         "metrics": "metrics_update", "resources": "resource_update",
         "topology": "topology_change"}


def _t(msg) -> float:
    return datetime.fromisoformat(msg["timestamp"].replace("Z", "+00:00")).timestamp()


async def _collect(conn, seconds: float) -> list[dict]:
    """Every frame that arrives within ``seconds`` (bounded)."""
    out = []
    deadline = asyncio.get_running_loop().time() + seconds
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        try:
            out.append(await recv(conn, left))
        except TimeoutError:
            break
    return out


async def test_each_room_delivers_its_type_at_its_cadence(make_api):
    """Every room gets its message type; consecutive messages are one interval apart."""
    api = await make_api(**FAST)
    api.services.start()
    conn = await api.connect()
    conn.write_message(json.dumps({"type": "subscribe", "rooms": list(TYPES)}))
    msgs = await _collect(conn, 1.6)
    for room, kind in TYPES.items():
        got = [m for m in msgs if m.get("room") == room and "offset" in m]
        assert got and all(m["type"] == kind for m in got), room
    for room, interval in (("nodes", 0.25), ("tasks", 0.1), ("resources", 0.3)):
        times = [_t(m) for m in msgs
                 if m.get("room") == room and "offset" in m and not m.get("snapshot")]
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert gaps and all(abs(g - interval) < interval * 0.6 for g in gaps), (room, gaps)
    stats = api.services.stats()["publishers"]
    assert stats["tasks"]["count"] >= 8 and stats["tasks"]["errors"] == 0


async def test_topology_only_on_change(make_api):
    """Topology is checked often but published only when the map changes."""
    api = await make_api(**FAST)
    api.services.start()
    await wait_until(lambda: api.services.runner.stats()["topology"]["ticks"] >= 20)
    assert api.hub.log("topology").last_offset == api.services.rooms.topology_changes
    before = api.hub.log("topology").last_offset
    status, body, _ = await api.fetch("/api/sim/incidents", token=api.token("ops", admin=True),
                                      method="POST", body={"kind": "node_crash"})
    assert status == 200
    await wait_until(lambda: api.hub.log("topology").last_offset > before)
    assert api.services.runner.stats()["topology"]["ticks"] > api.hub.log("topology").last_offset


async def test_alerts_arrive_immediately_and_all_of_them(make_api):
    """Three incidents injected at once give three firing alerts within one tick or two."""
    api = await make_api(**FAST)
    api.services.start()
    conn = await api.connect()
    conn.write_message(json.dumps({"type": "subscribe", "rooms": ["alerts"]}))
    await recv(conn)
    admin = api.token("ops", admin=True)
    for kind in ("cpu_runaway", "latency_degradation", "task_failure_burst"):
        status, _, _ = await api.fetch("/api/sim/incidents", token=admin, method="POST",
                                       body={"kind": kind})
        assert status == 200
    got = [await recv(conn, 1.0) for _ in range(3)]
    assert sorted(a["data"]["incident"] for a in got) == [
        "incident:cpu_runaway", "incident:latency_degradation", "incident:task_failure_burst"]
    assert all(a["type"] == "alert" and a["data"]["state"] == "firing" for a in got)


async def test_incident_endpoint_validates(make_api):
    """Incident injection needs admin and a known kind/target."""
    api = await make_api(**FAST)
    status, body, _ = await api.fetch("/api/sim/incidents", token=api.token(), method="POST",
                                      body={"kind": "node_crash"})
    assert status == 403
    admin = api.token("ops", admin=True)
    status, body, _ = await api.fetch("/api/sim/incidents", token=admin, method="POST",
                                      body={"kind": "meteor"})
    assert status == 422 and body["error"]["code"] == "bad_message"
    status, body, _ = await api.fetch("/api/sim/incidents", token=admin, method="POST",
                                      body={"kind": "cpu_runaway", "target": "nope"})
    assert status == 422
