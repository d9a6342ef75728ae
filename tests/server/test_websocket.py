"""The WebSocket API against a real server: message types, bad input, auth, snapshots, catch-up."""

from __future__ import annotations

import asyncio
import json
import re

import jwt
import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from tests.conftest import SECRET, TIMEOUT, closed, recv, recv_until

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def test_connection_established_first(api):
    """The first frame is connection_established with an id and a UTC Z timestamp."""
    conn = await api.connect(established=False)
    msg = await recv(conn)
    assert msg["type"] == "connection_established"
    assert msg["connection_id"] in api.services.connections
    assert ISO_Z.match(msg["timestamp"])
    conn.close()


async def test_subscribe_and_unsubscribe_confirm_each_room(api):
    """One subscription_confirmed / unsubscription_confirmed per room, in order."""
    conn = await api.connect()
    conn.write_message(json.dumps({"type": "subscribe", "rooms": ["nodes", "tasks"]}))
    assert [(await recv(conn))["room"] for _ in range(2)] == ["nodes", "tasks"]
    assert api.hub.registry.counts()["nodes"] == 1
    conn.write_message(json.dumps({"type": "unsubscribe", "rooms": ["nodes"]}))
    msg = await recv(conn)
    assert (msg["type"], msg["room"]) == ("unsubscription_confirmed", "nodes")
    assert api.hub.registry.counts()["nodes"] == 0
    assert api.hub.registry.counts()["tasks"] == 1
    conn.close()


async def test_room_messages_carry_type_room_data_timestamp_offset(api):
    """A published message reaches subscribers with type, room, data, timestamp and offset."""
    conn = await api.connect()
    conn.write_message(json.dumps({"type": "subscribe", "rooms": ["nodes"]}))
    await recv(conn)
    api.hub.publish("nodes", "node_status_update", {"x": 1})
    api.hub.publish("nodes", "node_status_update", {"x": 2})
    first, second = await recv(conn), await recv(conn)
    assert first["type"] == "node_status_update" and first["room"] == "nodes"
    assert (first["data"], second["data"]) == ({"x": 1}, {"x": 2})
    assert (first["offset"], second["offset"]) == (1, 2)
    assert ISO_Z.match(first["timestamp"]) and "snapshot" not in first
    conn.close()


async def test_ping_gets_pong(api):
    """A client ping is answered with pong."""
    conn = await api.connect()
    conn.write_message('{"type":"ping"}')
    assert (await recv(conn))["type"] == "pong"
    conn.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_json"),
        ("[1, 2]", "bad_json"),
        ('"text"', "bad_json"),
        ('{"type": "subscribe", "rooms": "nodes"}', "bad_message"),
        ('{"type": "subscribe"}', "bad_message"),
        ('{"type": "subscribe", "rooms": [1]}', "bad_message"),
        ('{"type": "subscribe", "rooms": ["nodes"], "since": {"nodes": "x"}}', "bad_message"),
        ('{"type": "unsubscribe", "rooms": {}}', "bad_message"),
        ('{"type": "auth"}', "bad_message"),
        ('{"type": "__class__"}', "unknown_type"),
        ('{"rooms": ["nodes"]}', "unknown_type"),
        ('{"type": 7}', "unknown_type"),
        ('{"type": "subscribe", "rooms": ["nope"]}', "unknown_room"),
        ('{"type": "unsubscribe", "rooms": ["nope"]}', "unknown_room"),
    ],
)
async def test_bad_input_gets_error_and_connection_stays_open(api, frame, code):
    """Each bad frame gets an error with a stable code; the connection keeps working."""
    conn = await api.connect()
    conn.write_message(frame)
    msg = await recv(conn)
    assert (msg["type"], msg["code"]) == ("error", code)
    assert isinstance(msg["message"], str) and "Traceback" not in msg["message"]
    conn.write_message('{"type":"ping"}')
    assert (await recv(conn))["type"] == "pong"
    conn.close()


async def test_binary_frame_gets_error_and_connection_stays_open(api):
    """A binary frame is refused with bad_message; the connection stays open."""
    conn = await api.connect()
    conn.write_message(b"\x00\x01", binary=True)
    msg = await recv(conn)
    assert (msg["type"], msg["code"]) == ("error", "bad_message")
    conn.write_message('{"type":"ping"}')
    assert (await recv(conn))["type"] == "pong"
    conn.close()


async def test_mixed_good_and_unknown_rooms(api):
    """Good rooms in a subscribe are confirmed even when another room is unknown."""
    conn = await api.connect()
    conn.write_message(json.dumps({"type": "subscribe", "rooms": ["nodes", "nope"]}))
    first, second = await recv(conn), await recv(conn)
    assert (first["type"], first["room"]) == ("subscription_confirmed", "nodes")
    assert (second["code"], second["room"]) == ("unknown_room", "nope")
    conn.close()


async def test_oversize_frame_closes_1009_and_others_unaffected(make_api):
    """A frame over the size limit closes that connection with 1009; others keep working."""
    api = await make_api(max_frame_bytes=1024)
    big, other = await api.connect(), await api.connect()
    big.write_message(json.dumps({"type": "ping", "pad": "x" * 2000}))
    assert await closed(big) == 1009
    other.write_message('{"type":"ping"}')
    assert (await recv(other))["type"] == "pong"
    other.close()


async def test_snapshot_on_subscribe(api):
    """Subscribing sends the room's latest message at once, marked snapshot."""
    api.hub.publish("tasks", "task_progress_update", {"n": 1})
    api.hub.publish("tasks", "task_progress_update", {"n": 2})
    conn = await api.connect()
    conn.write_message(json.dumps({"type": "subscribe", "rooms": ["tasks"]}))
    assert (await recv(conn))["type"] == "subscription_confirmed"
    snap = await recv(conn)
    assert snap["snapshot"] is True and snap["data"] == {"n": 2} and snap["offset"] == 2
    conn.close()


async def test_since_replays_missed_messages(api):
    """A subscribe with since gets exactly the messages after that offset, in order."""
    for n in range(1, 6):
        api.hub.publish("nodes", "node_status_update", {"n": n})
    conn = await api.connect()
    conn.write_message(json.dumps({"type": "subscribe", "rooms": ["nodes"],
                                   "since": {"nodes": 2}, "epoch": api.hub.epoch}))
    await recv(conn)
    got = [await recv(conn) for _ in range(3)]
    assert [m["offset"] for m in got] == [3, 4, 5]
    assert all("snapshot" not in m for m in got)
    api.hub.publish("nodes", "node_status_update", {"n": 6})
    assert (await recv(conn))["offset"] == 6
    conn.close()


async def test_since_beyond_history_reports_gap_then_snapshot(make_api):
    """When the missed messages are gone, the client gets history_gap and then the snapshot."""
    api = await make_api(history_size=3)
    for n in range(1, 11):
        api.hub.publish("nodes", "node_status_update", {"n": n})
    conn = await api.connect()
    conn.write_message(json.dumps({"type": "subscribe", "rooms": ["nodes"],
                                   "since": {"nodes": 2}}))
    await recv(conn)
    gap = await recv(conn)
    assert (gap["type"], gap["code"], gap["room"]) == ("error", "history_gap", "nodes")
    assert gap["last_offset"] == 10
    snap = await recv(conn)
    assert snap["snapshot"] is True and snap["offset"] == 10
    conn.close()


async def test_since_from_another_epoch_reports_gap(api):
    """Offsets from a previous server life (another epoch) are refused with history_gap."""
    api.hub.publish("nodes", "node_status_update", {})
    conn = await api.connect()
    conn.write_message(json.dumps({"type": "subscribe", "rooms": ["nodes"],
                                   "since": {"nodes": 0}, "epoch": "old-epoch"}))
    await recv(conn)
    assert (await recv(conn))["code"] == "history_gap"
    conn.close()


# -- authentication ------------------------------------------------------------------------


async def _handshake_status(api, url, headers=None):
    with pytest.raises(HTTPClientError) as info:
        await asyncio.wait_for(websocket_connect(HTTPRequest(url, headers=headers or {})),
                               TIMEOUT)
    return info.value.code, json.loads(info.value.response.body)


@pytest.mark.parametrize(
    ("make_token", "code"),
    [
        (lambda t: "", "token_missing"),
        (lambda t: "not-a-jwt", "token_invalid"),
        (lambda t: jwt.encode({"sub": "a", "exp": t + 60}, "w" * 72), "token_invalid"),
        (lambda t: jwt.encode({"sub": "a", "exp": t - 1}, SECRET), "token_expired"),
        (lambda t: jwt.encode({"sub": "a", "exp": t + 60}, None, algorithm="none"),
         "token_invalid"),
        (lambda t: jwt.encode({"sub": "a", "exp": t + 60}, SECRET, algorithm="HS512"),
         "token_invalid"),
        (lambda t: jwt.encode({"exp": t + 60}, SECRET), "token_invalid"),
        (lambda t: jwt.encode({"sub": "a"}, SECRET), "token_invalid"),
    ],
    ids=["empty", "garbage", "bad-signature", "expired", "alg-none", "wrong-alg",
         "missing-sub", "missing-exp"],
)
async def test_query_token_refused_with_401(api, make_token, code):
    """A bad ?token= gets HTTP 401 with a JSON error before the upgrade."""
    import time

    status, body = await _handshake_status(api, api.ws_url + "?token=" + make_token(time.time()))
    assert status == 401
    assert body["error"]["code"] == code
    assert api.services.connections == {}


async def test_message_auth_establishes_connection(api):
    """Without ?token=, an auth message within the deadline establishes the connection."""
    conn = await api.connect(None)
    conn.write_message(json.dumps({"type": "auth", "token": api.token("grace")}))
    msg = await recv(conn)
    assert msg["type"] == "connection_established" and msg["user"] == "grace"
    conn.write_message(json.dumps({"type": "subscribe", "rooms": ["alerts"]}))
    assert (await recv(conn))["type"] == "subscription_confirmed"
    conn.close()


async def test_message_auth_bad_token_closes_4401(api):
    """A bad token in the auth message closes with 4401 after an error frame."""
    conn = await api.connect(None)
    conn.write_message(json.dumps({"type": "auth", "token": "nope"}))
    msg = await recv(conn)
    assert msg["code"] == "token_invalid"
    assert await closed(conn) == 4401


async def test_subscribe_before_auth_closes_4401(api):
    """Anything but auth/ping before authenticating closes with 4401."""
    conn = await api.connect(None)
    conn.write_message(json.dumps({"type": "subscribe", "rooms": ["nodes"]}))
    assert (await recv(conn))["code"] == "unauthorized"
    assert await closed(conn) == 4401
    assert api.hub.registry.counts()["nodes"] == 0


async def test_auth_timeout_closes_4401(make_api):
    """No auth message within the auth timeout closes with 4401."""
    api = await make_api(auth_timeout=0.2)
    conn = await api.connect(None)
    assert await closed(conn) == 4401


async def test_token_expiry_ends_open_connection(api):
    """A connection is closed with 4401 when its token expires, not only at connect."""
    conn = await api.connect(api.token(ttl=1.2))
    msg = await recv_until(conn, lambda m: m["type"] == "error")
    assert msg["code"] == "token_expired"
    assert await closed(conn) == 4401


async def test_forbidden_room(api):
    """A rooms claim limits subscriptions: other rooms get forbidden_room."""
    conn = await api.connect(api.token(rooms=["nodes"]))
    conn.write_message(json.dumps({"type": "subscribe", "rooms": ["alerts", "nodes"]}))
    denied, ok = await recv(conn), await recv(conn)
    assert (denied["code"], denied["room"]) == ("forbidden_room", "alerts")
    assert (ok["type"], ok["room"]) == ("subscription_confirmed", "nodes")
    assert api.hub.registry.counts()["alerts"] == 0
    conn.close()


async def test_cross_origin_refused_and_allowed_origin_accepted(make_api):
    """A foreign Origin is refused with 403 unless listed; no Origin (a program) is allowed."""
    api = await make_api(allowed_origins=("https://ops.example",))
    url = api.ws_url + "?token=" + api.token()
    status, body = await _handshake_status(api, url, {"Origin": "https://evil.example"})
    assert status == 403 and body["error"]["code"] == "forbidden"
    conn = await api.connect(headers={"Origin": "https://ops.example"})
    same = await api.connect(headers={"Origin": f"http://127.0.0.1:{api.port}"})
    conn.close()
    same.close()


async def test_audience_and_issuer_checked(make_api):
    """With aud/iss configured, tokens without them are refused and matching ones accepted."""
    api = await make_api(jwt_audience="fogpanel", jwt_issuer="ops")
    status, _ = await _handshake_status(api, api.ws_url + "?token=" + api.token())
    assert status == 401
    conn = await api.connect(api.token(audience="fogpanel", issuer="ops"))
    conn.close()
