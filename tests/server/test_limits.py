"""Rate limits, connection cap, heartbeats, slow consumers and fan-out against a real server."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from tests.conftest import TIMEOUT, closed, recv, wait_until
from tests.rawws import masked_text_frame, open_raw


async def _refused(url: str) -> HTTPClientError:
    with pytest.raises(HTTPClientError) as info:
        await asyncio.wait_for(websocket_connect(HTTPRequest(url)), TIMEOUT)
    return info.value


async def test_message_rate_limit_errors_then_closes_4429(make_api):
    """Over the message rate: one rate_limited error, then close 4429 if it persists."""
    api = await make_api(messages_per_second=5, message_burst=5, rate_limit_close_after=20)
    flooder, bystander = await api.connect(), await api.connect(api.token("bob"))
    for _ in range(8):
        flooder.write_message('{"type":"ping"}')
    got = [await recv(flooder) for _ in range(6)]
    assert [m["type"] for m in got[:5]] == ["pong"] * 5
    assert (got[5]["type"], got[5]["code"]) == ("error", "rate_limited")
    for _ in range(30):
        flooder.write_message('{"type":"ping"}')
    assert await closed(flooder) == 4429
    bystander.write_message('{"type":"ping"}')
    assert (await recv(bystander))["type"] == "pong"


async def test_connection_rate_limit_429_with_retry_after(make_api):
    """The 4th connection of a user within a minute gets 429 + Retry-After; others are fine."""
    api = await make_api(connections_per_minute=3)
    token = api.token("ada")
    for _ in range(3):
        await api.connect(token)
    err = await _refused(api.ws_url + "?token=" + token)
    assert err.code == 429
    assert 1 <= int(err.response.headers["Retry-After"]) <= 60
    assert json.loads(err.response.body)["error"]["code"] == "rate_limited"
    await api.connect(api.token("bob"))
    assert api.services.refused["rate_limited"] == 1


async def test_connection_rate_limit_applies_to_message_auth(make_api):
    """The per-user connection limit also holds for tokens sent in an auth message (4429)."""
    api = await make_api(connections_per_minute=1)
    await api.connect(api.token("ada"))
    conn = await api.connect(None)
    conn.write_message(json.dumps({"type": "auth", "token": api.token("ada")}))
    msg = await recv(conn)
    assert msg["code"] == "rate_limited" and msg["retry_after"] > 0
    assert await closed(conn) == 4429


async def test_connection_cap_refuses_with_503(make_api):
    """Past max_connections the handshake gets 503, and existing connections keep working."""
    api = await make_api(max_connections=2)
    first = await api.connect(api.token("a"))
    await api.connect(api.token("b"))
    err = await _refused(api.ws_url + "?token=" + api.token("c"))
    assert err.code == 503
    assert json.loads(err.response.body)["error"]["code"] == "overloaded"
    first.write_message('{"type":"ping"}')
    assert (await recv(first))["type"] == "pong"


async def test_idle_connection_closed_4408_after_pings(make_api):
    """A client that sends nothing is pinged, then closed with 4408 after the idle timeout."""
    api = await make_api(ping_interval=0.15, idle_timeout=0.4)
    conn = await api.connect()
    assert (await recv(conn))["type"] == "ping"
    assert await closed(conn) == 4408


async def test_pong_keeps_connection_alive(make_api):
    """Answering server pings counts as liveness: the connection outlives the idle timeout."""
    api = await make_api(ping_interval=0.1, idle_timeout=0.25)
    conn = await api.connect()
    loop = asyncio.get_running_loop()
    started = loop.time()
    pings = 0
    while pings < 6:
        msg = await recv(conn)
        assert msg["type"] == "ping"
        pings += 1
        conn.write_message('{"type":"pong"}')
    assert loop.time() - started > 0.25  # outlived one idle timeout
    assert conn.protocol is not None and len(api.services.connections) == 1
    assert await closed(conn) == 4408  # once it stops answering, it is closed


async def test_slow_consumer_closed_4508_fast_one_gets_everything(make_api):
    """A reader that stops reading is closed (4508, counted); a fast one gets every message."""
    api = await make_api(outbound_buffer_bytes=64 * 1024)
    fast = await api.connect(api.token("fast"))
    fast.write_message(json.dumps({"type": "subscribe", "rooms": ["metrics"]}))
    await recv(fast)
    reader, writer = await open_raw(api.port, "/api/ws/connect?token=" + api.token("slow"),
                                    rcvbuf=4096, limit=1024)
    writer.write(masked_text_frame(b'{"type":"subscribe","rooms":["metrics"]}'))
    await writer.drain()
    await wait_until(lambda: api.hub.registry.counts()["metrics"] == 2)
    received: list[int] = []
    caught_up = asyncio.Event()
    target = 0

    async def read_fast() -> None:
        while True:
            msg = await recv(fast)
            received.append(msg["offset"])
            if msg["offset"] == target:
                caught_up.set()

    reader_task = asyncio.create_task(read_fast())
    payload = {"blob": "x" * 1000}
    for _ in range(400):  # bounded: at most 8,000 messages of ~1 KB
        for _ in range(20):
            target = api.hub.publish("metrics", "metrics_update", payload)
        await asyncio.wait_for(caught_up.wait(), TIMEOUT)
        caught_up.clear()
        if api.hub.slow_closed:
            break
    reader_task.cancel()
    assert api.hub.slow_closed == 1
    assert api.services.stats()["slow_closed"] == 1
    assert received == list(range(1, target + 1))
    assert api.hub.registry.counts()["metrics"] == 1
    writer.close()


async def test_two_hundred_clients_receive_every_broadcast(api):
    """200 concurrent clients each receive all 20 broadcasts, in order."""
    clients = await asyncio.gather(*(api.connect(api.token(f"u{i}")) for i in range(200)))
    for conn in clients:
        conn.write_message(json.dumps({"type": "subscribe", "rooms": ["nodes"]}))
    await asyncio.gather(*(recv(c) for c in clients))
    for n in range(20):
        api.hub.publish("nodes", "node_status_update", {"n": n})

    async def offsets(conn):
        return [(await recv(conn))["offset"] for _ in range(20)]

    got = await asyncio.wait_for(asyncio.gather(*(offsets(c) for c in clients)), 30)
    assert all(o == list(range(1, 21)) for o in got)
    assert api.hub.delivered == 200 * 20


async def test_shutdown_closes_connections_1001(api):
    """Stopping the services closes API connections with 1001 (going away)."""
    conn = await api.connect()
    await api.services.stop()
    assert await closed(conn) == 1001
    await wait_until(lambda: api.services.connections == {})


async def test_refusals_do_not_flood_the_log(make_api, caplog):
    """Many 503 refusals produce at most one summary line and no per-request access lines."""
    caplog.set_level(logging.INFO)
    api = await make_api(max_connections=1)
    await api.connect(api.token("a"))
    for i in range(20):
        err = await _refused(api.ws_url + "?token=" + api.token(f"u{i}"))
        assert err.code == 503
    assert api.services.refused["overloaded"] == 20
    access = [r for r in caplog.records if r.name == "tornado.access" and "503" in r.getMessage()]
    summaries = [r for r in caplog.records if "refused requests" in r.getMessage()]
    assert access == [] and len(summaries) <= 1


async def test_services_start_publishers_once(make_api):
    """Starting the services twice starts the publishers once; stop cancels them."""
    api = await make_api(sim_tick=0.05, nodes_interval=0.05)
    api.services.start()
    api.services.start()
    await wait_until(lambda: api.hub.log("nodes").last_offset >= 2)
    assert api.services.runner.stats()["nodes"]["ticks"] == api.hub.log("nodes").last_offset
    await api.services.stop()
    assert not api.services.runner.running
