"""Threshold alerts over a real server: incidents become alerts, silences, restart survival."""

from __future__ import annotations

import json
import time

import pytest

from fogpanel.metrics.sink import Sample
from fogpanel.server.services import build_services
from tests.conftest import make_settings, recv_until, start_api, stop_api

FAST = {"sim_tick": 0.05, "resources_interval": 0.1, "incident_interval": 0.0,
        "sources": ("simulator",), "sim_devices": 20, "rules_file": ""}


@pytest.fixture
def rules_file(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text('[[rule]]\nname = "cpu_usage"\nmetric = "*cpu_usage"\nwarning = 70\n'
                    'critical = 90\nfor = "0.3s"\n')
    return str(path)


async def test_injected_cpu_runaway_becomes_a_rule_alert(make_api, rules_file, tmp_path):
    """An injected CPU runaway fires the cpu_usage rule for that device, seen over WebSocket."""
    api = await make_api(**{**FAST, "rules_file": rules_file},
                         history_path=str(tmp_path / "h.sqlite"))
    api.services.start()
    conn = await api.connect()
    conn.write_message(json.dumps({"type": "subscribe", "rooms": ["alerts"]}))
    status, inc, _ = await api.fetch("/api/sim/incidents", token=api.token("ops", admin=True),
                                     method="POST", body={"kind": "cpu_runaway"})
    assert status == 200
    metric = f"device.{inc['target']}.cpu_usage"
    msg = await recv_until(conn, lambda m: m.get("type") == "alert"
                           and m["data"].get("metric") == metric, timeout=10)
    alert = msg["data"]
    assert (alert["kind"], alert["state"], alert["severity"]) == ("threshold", "firing",
                                                                   "critical")
    _, body, _ = await api.fetch("/api/ws/alerts", token=api.token())
    assert any(a["metric"] == metric for a in body["active"])


async def test_silence_mutes_matching_alerts_and_can_be_expired(make_api, rules_file, tmp_path):
    """A silence keeps matching alerts out of the room; listing and expiring work."""
    api = await make_api(**{**FAST, "rules_file": rules_file},
                         history_path=str(tmp_path / "h.sqlite"))
    token = api.token("ops")
    status, silence, _ = await api.fetch(
        "/api/ws/silences", token=token, method="POST",
        body={"matcher": {"metric": "device.*.cpu_usage"}, "duration": "1h",
              "author": "ops", "comment": "planned load test"})
    assert status == 201 and silence["status"] == "active"
    engine = api.services.engine
    now = time.time()
    for t in (now, now + 1):
        engine.record([Sample("device.x.cpu_usage", 99.0, t)])
    assert api.hub.log("alerts").last_offset == 0 and engine.silenced == 1
    _, listed, _ = await api.fetch("/api/ws/silences", token=token)
    assert [s["id"] for s in listed["silences"]] == [silence["id"]]
    status, expired, _ = await api.fetch(f"/api/ws/silences/{silence['id']}", token=token,
                                         method="DELETE")
    assert status == 200 and expired["status"] == "expired"
    status, body, _ = await api.fetch(f"/api/ws/silences/{silence['id']}", token=token,
                                      method="DELETE")
    assert status == 422
    status, body, _ = await api.fetch("/api/ws/silences/nope", token=token, method="DELETE")
    assert status == 404


@pytest.mark.parametrize(
    ("body", "code"),
    [({"matcher": {}, "duration": "1h", "author": "a"}, "bad_message"),
     ({"matcher": {"metric": "*"}, "duration": "forever", "author": "a"}, "bad_message"),
     ({"matcher": {"metric": "*"}, "duration": 0, "author": "a"}, "bad_message"),
     ({"matcher": {"metric": "*"}, "duration": "1h", "author": ""}, "bad_message"),
     ({"matcher": "cpu", "duration": "1h", "author": "a"}, "bad_message")],
)
async def test_silence_validation(api, body, code):
    """Bad silences get 422 with a stable code."""
    status, data, _ = await api.fetch("/api/ws/silences", token=api.token(), method="POST",
                                      body=body)
    assert (status, data["error"]["code"]) == (422, code)


async def test_active_alerts_and_silences_survive_a_restart(tmp_path, rules_file):
    """A firing alert and a silence are back after the services are rebuilt on the same file."""
    settings = make_settings(**{**FAST, "rules_file": rules_file},
                             history_path=str(tmp_path / "h.sqlite"))
    api = await start_api(settings)
    engine = api.services.engine
    now = time.time()
    engine.record([Sample("device.y.cpu_usage", 95.0, now), Sample("device.y.cpu_usage", 95.0,
                                                                       now + 1)])
    assert len(engine.rules.active()) == 1
    engine.add_silence({"metric": "device.z.*"}, 3600, "ops", "")
    await stop_api(api)  # closes the writer: queued state is flushed
    again = build_services(settings)
    try:
        (active,) = again.engine.active_alerts()
        assert active["metric"] == "device.y.cpu_usage" and active["severity"] == "critical"
        assert [s.matchers for s in again.engine.silences.list(time.time())] == [
            {"metric": "device.z.*"}]
        reader = again.engine.reader()
        logged = [json.loads(doc) for doc in reader.recent_alerts()]
        reader.close()
        assert [(a["metric"], a["state"]) for a in logged] == [("device.y.cpu_usage", "firing")]
        # still firing: no duplicate alert when the value stays high
        assert again.engine.rules.evaluate("device.y.cpu_usage", 96.0, now + 2) == []
    finally:
        again.engine.close()
