"""The HTTP API under /api/ws/ against a real server, and what reaches the logs."""

from __future__ import annotations

import json
import logging

import pytest

from tests.conftest import recv


async def test_streams_lists_rooms_without_auth(api):
    """GET streams needs no token and describes every room with its cadence."""
    status, body, _ = await api.fetch("/api/ws/streams")
    assert status == 200
    rooms = {s["name"]: s for s in body["streams"]}
    assert set(rooms) == {"nodes", "tasks", "metrics", "alerts", "resources", "topology"}
    assert rooms["nodes"]["update_interval"] == 5 and rooms["nodes"]["description"]


@pytest.mark.parametrize("path", ["/api/ws/stats", "/api/ws/connections/abc"])
async def test_protected_routes_need_a_valid_token(api, path):
    """Without or with a bad bearer token: 401 with a JSON error."""
    status, body, resp = await api.fetch(path)
    assert status == 401 and body["error"]["code"] == "token_missing"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    status, body, _ = await api.fetch(path, token="garbage")
    assert status == 401 and body["error"]["code"] == "token_invalid"


async def test_stats_counts_connections_messages_and_rooms(api):
    """stats reports connections, messages, per-room subscribers and uptime."""
    conn = await api.connect()
    conn.write_message(json.dumps({"type": "subscribe", "rooms": ["nodes"]}))
    await recv(conn)
    api.hub.publish("nodes", "node_status_update", {})
    await recv(conn)
    status, body, _ = await api.fetch("/api/ws/stats", token=api.token())
    assert status == 200
    assert body["active_connections"] == 1 and body["total_connections"] == 1
    assert body["total_messages"] == 1 and body["messages_published"] == 1
    assert body["rooms"]["nodes"]["subscribers"] == 1
    assert body["slow_closed"] == 0 and body["uptime_seconds"] >= 0


async def test_connection_detail_own_other_admin_missing(api):
    """A user sees their own connection; another user gets 403, an admin 200, unknown 404."""
    conn = await api.connect(api.token("ada"), established=False)
    cid = (await recv(conn))["connection_id"]
    status, body, _ = await api.fetch(f"/api/ws/connections/{cid}", token=api.token("ada"))
    assert status == 200 and body["user"] == "ada" and body["state"] == "ready"
    status, body, _ = await api.fetch(f"/api/ws/connections/{cid}", token=api.token("eve"))
    assert status == 403 and body["error"]["code"] == "forbidden"
    status, body, _ = await api.fetch(f"/api/ws/connections/{cid}",
                                      token=api.token("root", admin=True))
    assert status == 200 and body["connection_id"] == cid
    status, body, _ = await api.fetch("/api/ws/connections/nope", token=api.token("ada"))
    assert status == 404 and body["error"]["code"] == "not_found"


@pytest.mark.parametrize("action", ["subscribe", "unsubscribe"])
async def test_http_subscribe_explains_the_websocket_way(api, action):
    """POST subscribe/unsubscribe explain how to do it over the WebSocket."""
    status, body, _ = await api.fetch(f"/api/ws/{action}", token=api.token(), method="POST",
                                      body={"rooms": ["nodes"]})
    assert status == 200
    assert body["websocket_url"] == "/api/ws/connect"
    assert body["example"] == {"type": action, "rooms": ["nodes"]}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [("{not json", 400, "bad_json"), ('["nodes"]', 400, "bad_json"),
     ('{"rooms": "nodes"}', 422, "bad_message"), ('{"rooms": ["nope"]}', 404, "unknown_room")],
)
async def test_http_subscribe_bad_bodies(api, body, status, code):
    """Bad bodies get 400/422/404 with a stable code."""
    got, data, _ = await api.fetch("/api/ws/subscribe", token=api.token(), method="POST",
                                   body=body)
    assert (got, data["error"]["code"]) == (status, code)


async def test_wrong_method_is_a_json_405(api):
    """An unsupported method gets a JSON error, not an HTML page."""
    status, body, _ = await api.fetch("/api/ws/streams", method="DELETE")
    assert status == 405 and body["error"]["code"] == "method_not_allowed"


async def test_tokens_never_reach_the_logs(api, caplog):
    """Failed and successful requests carrying ?token= never log the token."""
    caplog.set_level(logging.DEBUG)
    secret_token = api.token("ada")
    bad = "eyJhbGciOiJIUzI1NiJ9.bad.signature-leak"
    conn = await api.connect(secret_token)
    conn.close()
    status, _, _ = await api.fetch(f"/api/ws/connect?token={bad}")
    assert status == 401
    status, _, _ = await api.fetch(f"/api/ws/stats?token={bad}")
    assert status == 401
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "/api/ws/connect?token=REDACTED" in text  # the requests were logged, redacted
    assert secret_token not in text and "signature-leak" not in text


async def test_publish_needs_admin_and_reaches_subscribers(api):
    """POST publish: admins put messages into rooms (validated, all-or-nothing); others get 403."""
    conn = await api.connect()
    conn.write_message(json.dumps({"type": "subscribe", "rooms": ["alerts"]}))
    await recv(conn)
    admin = api.token("root", admin=True)
    status, body, _ = await api.fetch("/api/ws/publish", token=api.token("ada"), method="POST",
                                      body={"room": "alerts", "type": "alert", "data": {}})
    assert status == 403 and body["error"]["code"] == "forbidden"
    status, body, _ = await api.fetch(
        "/api/ws/publish", token=admin, method="POST",
        body={"messages": [{"room": "alerts", "type": "alert", "data": 1},
                           {"room": "nope", "type": "alert", "data": 2}]})
    assert status == 404 and body["error"]["code"] == "unknown_room"
    assert api.hub.log("alerts").last_offset == 0  # nothing of a refused batch was published
    status, body, _ = await api.fetch("/api/ws/publish", token=admin, method="POST",
                                      body={"room": "alerts", "type": "alert"})
    assert status == 422 and body["error"]["code"] == "bad_message"
    status, body, _ = await api.fetch(
        "/api/ws/publish", token=admin, method="POST",
        body={"messages": [{"room": "alerts", "type": "alert", "data": n} for n in (1, 2)]})
    assert status == 200 and body["offsets"] == [1, 2]
    assert [(await recv(conn))["data"] for _ in range(2)] == [1, 2]
