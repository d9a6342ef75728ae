"""POST /api/ingest on a real server: roles, bad input with named fields, nothing valid lost."""

from __future__ import annotations

import time

import pytest

REPORT = {"node_id": "edge-9", "metrics": {"cpu_usage": 42.0, "memory_usage": 30.0}}


def report(**changes):
    return {**REPORT, "timestamp": time.time(), **changes}


async def test_agent_report_is_accepted_and_listed(api):
    """A valid batch is accepted; the device shows in stats as real, from the agent."""
    status, body, _ = await api.fetch("/api/ingest", token=api.token("a1", role="agent"),
                                      method="POST", body={"reports": [report()]})
    assert status == 200 and body == {"accepted": 1, "rejected": 0, "errors": []}
    _, stats, _ = await api.fetch("/api/ws/stats", token=api.token())
    (device,) = stats["agent_devices"]
    assert (device["id"], device["real"], device["reported_by"]) == ("edge-9", True, "a1")
    assert stats["sources"]["agents"] == 1


@pytest.mark.parametrize(
    ("token", "status", "code"),
    [(None, 401, "token_missing"), ("garbage", 401, "token_invalid"),
     ("user", 403, "forbidden")],
)
async def test_ingest_needs_an_agent_token(api, token, status, code):
    """No token 401, bad token 401, a token without the agent role 403."""
    tok = {"user": api.token("u")}.get(token, token)
    got, body, _ = await api.fetch("/api/ingest", token=tok, method="POST",
                                   body={"reports": [report()]})
    assert (got, body["error"]["code"]) == (status, code)
    assert api.services.cluster.agents.devices(time.time()) == []


async def test_mixed_batch_keeps_valid_reports_and_names_bad_fields(api):
    """400 lists each bad field; the valid reports of the same batch are stored."""
    batch = {"reports": [
        report(node_id="good-1"),
        report(node_id="bad-type", metrics={"cpu_usage": "high"}),
        report(node_id="future", timestamp=time.time() + 3600),
        {"node_id": "no-ts", "metrics": {"x": 1}},
        report(node_id="good-2"),
    ]}
    status, body, _ = await api.fetch("/api/ingest", token=api.token("a", role="agent"),
                                      method="POST", body=batch)
    assert status == 400 and body["error"]["code"] == "bad_reports"
    assert body["accepted"] == 2 and body["rejected"] == 3
    assert [e["field"] for e in body["errors"]] == [
        "reports[1].metrics.cpu_usage", "reports[2].timestamp", "reports[3].timestamp"]
    ids = {d["id"] for d in api.services.cluster.agents.devices(time.time())}
    assert ids == {"good-1", "good-2"}


@pytest.mark.parametrize(("body", "code"), [("{nope", "bad_json"), ("[1]", "bad_json"),
                                           ("", "bad_json")])
async def test_malformed_bodies(api, body, code):
    """Malformed JSON gets 400 with a stable code."""
    status, data, _ = await api.fetch("/api/ingest", token=api.token("a", role="agent"),
                                      method="POST", body=body)
    assert (status, data["error"]["code"]) == (400, code)


async def test_oversize_body_gets_413(make_api):
    """A body over ingest_max_bytes is refused with 413 before parsing."""
    api = await make_api(ingest_max_bytes=1000)
    big = {"reports": [report(node_id=f"n{i}") for i in range(50)]}
    status, data, _ = await api.fetch("/api/ingest", token=api.token("a", role="agent"),
                                      method="POST", body=big)
    assert (status, data["error"]["code"]) == (413, "payload_too_large")
    assert api.services.cluster.agents.devices(time.time()) == []
