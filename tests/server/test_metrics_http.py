"""Metric history, statistics, names, summary and alerts over HTTP on a real server."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import recv

N = 120  # more than the detector's warm-up, so an anomaly can fire afterwards


@pytest.fixture
async def mapi(make_api, tmp_path):
    api = await make_api(history_path=str(tmp_path / "history.sqlite"), sources=("agents",),
                         anomaly_learn_samples=20)
    token = api.token("agent-1", role="agent")
    now = time.time()
    reports = [{"node_id": "edge-1", "timestamp": now - 600 + i * 5,
                "metrics": {"cpu_usage": 40.0 + (i % 5), "memory_usage": 60.0}}
               for i in range(N)]
    status, body, _ = await api.fetch("/api/ingest", token=token, method="POST",
                                      body={"reports": reports})
    assert status == 200 and body["accepted"] == N
    return api


async def test_history_returns_acknowledged_samples(mapi):
    """Acknowledged ingest is in the history at once (raw resolution for an hour)."""
    status, body, _ = await mapi.fetch(
        "/api/ws/metrics/history?metric=device.edge-1.cpu_usage&hours=1", token=mapi.token())
    assert status == 200 and body["resolution"] == "raw" and body["count"] == N
    assert body["points"][0]["timestamp"].endswith("Z") and "value" in body["points"][0]
    status, body, _ = await mapi.fetch(
        "/api/ws/metrics/history?metric=device.edge-1.cpu_usage&hours=48", token=mapi.token())
    assert body["resolution"] == "1m" and sum(p["count"] for p in body["points"]) == N
    status, body, _ = await mapi.fetch(
        "/api/ws/metrics/history?metric=device.edge-1.cpu_usage&hours=168&step=1h",
        token=mapi.token())
    assert body["resolution"] == "1h" and {"avg", "min", "max", "last"} <= set(body["points"][0])


async def test_statistics_list_and_summary(mapi):
    """Window statistics, the metric list with a prefix, and the summary."""
    status, body, _ = await mapi.fetch(
        "/api/ws/metrics/statistics?metric=device.edge-1.cpu_usage&window=1h",
        token=mapi.token())
    assert status == 200 and body["count"] == N and body["min"] == 40.0 and body["max"] == 44.0
    assert {"avg", "median", "stddev", "p95"} <= set(body)
    status, body, _ = await mapi.fetch("/api/ws/metrics?prefix=device.edge-1.",
                                       token=mapi.token())
    assert body["metrics"] == ["device.edge-1.cpu_usage", "device.edge-1.memory_usage"]
    status, body, _ = await mapi.fetch("/api/ws/metrics/summary", token=mapi.token())
    assert body["samples_seen"] == 2 * N and body["store"]["written"] >= 2 * N
    assert body["latest"]["device.edge-1.memory_usage"]["value"] == 60.0


@pytest.mark.parametrize(
    ("query", "status", "code", "field"),
    [
        ("/api/ws/metrics/history?metric=nope.cpu&hours=1", 404, "unknown_metric", "metric"),
        ("/api/ws/metrics/history?hours=1", 422, "bad_parameter", "parameter"),
        ("/api/ws/metrics/history?metric=device.edge-1.cpu_usage&hours=0", 422,
         "bad_parameter", "parameter"),
        ("/api/ws/metrics/history?metric=device.edge-1.cpu_usage&hours=500", 422,
         "bad_parameter", "parameter"),
        ("/api/ws/metrics/history?metric=device.edge-1.cpu_usage&hours=lots", 422,
         "bad_parameter", "parameter"),
        ("/api/ws/metrics/history?metric=device.edge-1.cpu_usage&step=5m", 422,
         "bad_parameter", "parameter"),
        ("/api/ws/metrics/history?metric=device.edge-1.cpu_usage&start=10&end=5", 422,
         "bad_parameter", "parameter"),
        ("/api/ws/metrics/history?metric=device.edge-1.cpu_usage&start=yesterday", 422,
         "bad_parameter", "parameter"),
        ("/api/ws/metrics/statistics?metric=device.edge-1.cpu_usage&window=2m", 422,
         "bad_parameter", "parameter"),
        ("/api/ws/metrics/statistics?metric=nope&window=1m", 404, "unknown_metric", "metric"),
    ],
)
async def test_errors_name_the_metric_or_parameter(mapi, query, status, code, field):
    """Unknown metric: 404 with its name; bad parameters: 422 naming the parameter."""
    got, body, _ = await mapi.fetch(query, token=mapi.token())
    assert (got, body["error"]["code"]) == (status, code)
    assert field in body["error"]


async def test_anomaly_reaches_the_alerts_room_and_the_alerts_api(mapi):
    """An anomalous agent value raises an anomaly alert in the room at once, and in the API."""
    conn = await mapi.connect()
    conn.write_message(json.dumps({"type": "subscribe", "rooms": ["alerts"]}))
    await recv(conn)
    now = time.time()
    status, _, _ = await mapi.fetch(
        "/api/ingest", token=mapi.token("agent-1", role="agent"), method="POST",
        body={"node_id": "edge-1", "timestamp": now, "metrics": {"cpu_usage": 99.5}})
    assert status == 200
    msg = await recv(conn)
    assert msg["type"] == "alert" and msg["data"]["metric"] == "device.edge-1.cpu_usage"
    assert msg["data"]["severity"] in ("warning", "critical") and msg["data"]["value"] == 99.5
    status, body, _ = await mapi.fetch("/api/ws/alerts", token=mapi.token())
    assert body["recent"][0]["metric"] == "device.edge-1.cpu_usage"
