"""FogClient against the real server: handlers, states, catch-up across restarts, permanent
errors, heartbeats over a half-open connection, the offline queue, and a reconnect storm."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.testing import bind_unused_port
from tornado.web import Application

from fogpanel.client import BackoffPolicy, ClientState, FogClient
from fogpanel.protocol.auth import mint
from fogpanel.server.routes import build_routes
from fogpanel.server.services import Services, build_services
from tests.client.proxy import SilentProxy
from tests.conftest import TIMEOUT, ApiServer, make_settings, wait_until

FAST = BackoffPolicy(initial=0.05, maximum=0.2, factor=2.0)


class FrontEnd:
    """The API's listener on a fixed port, stopped and started again around the same (or a
    new) set of services: a server restart as its clients see it."""

    def __init__(self, services: Services, port: int) -> None:
        self.port = port
        self.http: HTTPServer | None = None
        self.start(services)

    def start(self, services: Services) -> None:
        self.services = services
        self.http = HTTPServer(Application(build_routes(services)))
        self.http.add_sockets(bind_sockets(self.port, "127.0.0.1"))

    async def stop(self) -> None:
        """Close every API connection with 1001 and stop listening (the hub keeps going)."""
        for conn in list(self.services.connections.values()):
            conn.shutdown(1001, "server restarting")
        assert self.http is not None
        self.http.stop()
        await asyncio.wait_for(self.http.close_all_connections(), TIMEOUT)
        self.http = None


@pytest.fixture
async def front(api: ApiServer) -> AsyncIterator[FrontEnd]:
    """The ``api`` fixture's services behind a restartable listener on a port of their own."""
    sock, port = bind_unused_port()
    sock.close()
    end = FrontEnd(api.services, port)
    yield end
    if end.http is not None:
        await end.stop()


def url(port: int) -> str:
    return f"ws://127.0.0.1:{port}/api/ws/connect"


def token(sub: str = "ada", ttl: float = 3600, secret: str | None = None) -> str:
    from tests.conftest import SECRET
    return mint(secret or SECRET, sub=sub, ttl=ttl, now=time.time())


@pytest.fixture
async def clients() -> AsyncIterator[list[FogClient]]:
    made: list[FogClient] = []
    yield made
    await asyncio.gather(*(c.disconnect() for c in made))


def offsets(messages: list[dict[str, Any]], kind: str = "node_status_update") -> list[int]:
    return [m["offset"] for m in messages if m.get("type") == kind]


async def test_handlers_states_and_iteration(api, clients):
    """on(type), on("*") and the unsubscribe function; states only on change; async for."""
    client = FogClient(api.ws_url, token=api.token(), rooms=["nodes"])
    clients.append(client)
    states: list[str] = []
    client.on_state(lambda _old, new: states.append(new.value))
    typed: list[dict] = []
    every: list[dict] = []
    off = client.on("node_status_update", typed.append)
    client.on("*", every.append)
    await client.connect(timeout=TIMEOUT)
    await wait_until(lambda: any(m["type"] == "subscription_confirmed" for m in every))
    api.hub.publish("nodes", "node_status_update", {"n": 1})
    await wait_until(lambda: len(typed) == 1)
    off()
    api.hub.publish("nodes", "node_status_update", {"n": 2})
    await wait_until(lambda: offsets(every) == [1, 2])
    assert len(typed) == 1 and typed[0]["data"] == {"n": 1}

    async def first_two() -> list[int]:
        seen = []
        async for message in client:
            if message["type"] == "node_status_update":
                seen.append(message["data"]["n"])
                if len(seen) == 2:
                    return seen
        return seen

    reader = asyncio.ensure_future(first_two())
    await asyncio.sleep(0)  # let the iterator register before publishing
    for n in (3, 4):
        api.hub.publish("nodes", "node_status_update", {"n": n})
    assert await asyncio.wait_for(reader, TIMEOUT) == [3, 4]
    await client.disconnect()
    assert states == ["connecting", "connected", "closed"]


async def streaming(api: ApiServer, front: FrontEnd, clients: list[FogClient],
                    count: int) -> tuple[FogClient, list[dict]]:
    """A client in the nodes room behind ``front`` that has received ``count`` messages."""
    client = FogClient(url(front.port), token=token(), rooms=["nodes"], backoff=FAST)
    clients.append(client)
    got: list[dict] = []
    client.on("node_status_update", got.append)
    await client.connect(timeout=TIMEOUT)
    await wait_until(lambda: api.hub.stats()["rooms"]["nodes"]["subscribers"] == 1)
    for n in range(count):
        api.hub.publish("nodes", "node_status_update", {"n": n})
    await wait_until(lambda: len(got) == count)
    return client, got


async def test_a_restart_mid_stream_loses_no_room_message(api, front, clients):
    """Messages published while the server is down arrive after the reconnect, once each and
    in order (the client subscribes with ``since``)."""
    client, got = await streaming(api, front, clients, 10)
    await front.stop()
    await client.wait_for_state(ClientState.RECONNECTING, timeout=TIMEOUT)
    for n in range(10, 20):
        api.hub.publish("nodes", "node_status_update", {"n": n})
    front.start(api.services)
    await client.wait_for_state(ClientState.CONNECTED, timeout=TIMEOUT)
    for n in range(20, 30):
        api.hub.publish("nodes", "node_status_update", {"n": n})
    await wait_until(lambda: len(got) >= 30)
    assert offsets(got) == list(range(1, 31))
    assert [m["data"]["n"] for m in got] == list(range(30)) and client.connections == 2


async def test_a_new_epoch_is_reported_as_a_history_gap(api, front, clients):
    """A server that lost its history (new epoch): the client hears ``history_gap`` and then
    gets the snapshot of the new history."""
    client, got = await streaming(api, front, clients, 5)
    gaps: list[dict] = []
    client.on("history_gap", gaps.append)
    await front.stop()
    fresh = build_services(make_settings())
    try:
        fresh.hub.publish("nodes", "node_status_update", {"n": "after"})
        front.start(fresh)
        await wait_until(lambda: len(got) == 6)
        assert gaps and gaps[0]["room"] == "nodes" and gaps[0]["epoch"] == fresh.hub.epoch
        assert got[-1]["snapshot"] is True and got[-1]["data"] == {"n": "after"}
        assert client.cursor.epoch == fresh.hub.epoch
    finally:
        await client.disconnect()
        await front.stop()
        await fresh.stop()


async def test_a_bad_token_is_a_permanent_error_not_retried(api, clients):
    client = FogClient(api.ws_url, token=token(secret="another-secret-" + "x" * 40),
                       backoff=FAST)
    clients.append(client)
    states: list[str] = []
    client.on_state(lambda _old, new: states.append(new.value))
    with pytest.raises(ConnectionError, match="HTTP 401"):
        await client.connect(timeout=TIMEOUT)
    assert states == ["connecting", "error"] and client.connections == 0


async def test_an_expired_token_ends_the_client_without_a_provider(make_api, clients):
    api = await make_api(ping_interval=0.2, idle_timeout=5.0)
    client = FogClient(api.ws_url, token=token(ttl=1.0), backoff=FAST)
    clients.append(client)
    await client.connect(timeout=TIMEOUT)
    await client.wait_for_state(ClientState.ERROR, timeout=TIMEOUT)
    assert "4401" in (client.last_error or "") and client.connections == 1


async def test_a_token_provider_refreshes_before_expiry(api, clients):
    """With a provider, the client hands the live connection a fresh token before the old one
    expires, and the connection outlives the first token."""
    issued: list[float] = []

    def provider() -> str:
        issued.append(time.time())
        return token(ttl=1.5)

    client = FogClient(api.ws_url, token_provider=provider, heartbeat_interval=0.1,
                       refresh_before=1.0, backoff=FAST)
    clients.append(client)
    refreshed: list[dict] = []
    client.on("authenticated", refreshed.append)
    await client.connect(timeout=TIMEOUT)
    first = issued[0]
    await wait_until(lambda: len(refreshed) >= 3 and time.time() > first + 2.0, timeout=10)
    assert client.state is ClientState.CONNECTED and client.connections == 1


async def test_gives_up_after_max_attempts():
    sock, port = bind_unused_port()
    sock.close()  # nothing listens here
    client = FogClient(url(port), token=token(), backoff=BackoffPolicy(
        initial=0.01, maximum=0.02, max_attempts=3))
    states: list[str] = []
    client.on_state(lambda _old, new: states.append(new.value))
    with pytest.raises(ConnectionError, match="gave up after 3 attempts"):
        await client.connect(timeout=TIMEOUT)
    assert states == ["connecting", "reconnecting", "error"]
    await client.disconnect()


async def test_a_half_open_connection_is_detected_and_replaced(api, clients):
    """A proxy that stops forwarding (sockets still open): no frame for ``dead_after`` and
    the client drops the connection, reconnects, and catches up."""
    proxy = SilentProxy(api.port)
    await proxy.start()
    try:
        client = FogClient(url(proxy.port), token=token(), rooms=["nodes"], backoff=FAST,
                           heartbeat_interval=0.1, dead_after=0.6, connect_timeout=1.0)
        clients.append(client)
        got: list[dict] = []
        client.on("node_status_update", got.append)
        await client.connect(timeout=TIMEOUT)
        await wait_until(lambda: api.hub.stats()["rooms"]["nodes"]["subscribers"] == 1)
        proxy.pause()
        api.hub.publish("nodes", "node_status_update", {"n": 1})
        await client.wait_for_state(ClientState.RECONNECTING, timeout=TIMEOUT)
        assert "presumed dead" in (client.last_error or "")
        proxy.resume()
        await client.wait_for_state(ClientState.CONNECTED, timeout=TIMEOUT)
        await wait_until(lambda: offsets(got) == [1])
        assert client.connections == 2
    finally:
        await proxy.stop()


async def test_the_client_answers_server_pings(make_api, clients):
    """With its own pings off, the client stays connected past several server idle timeouts
    because it answers the server's pings."""
    api = await make_api(ping_interval=0.1, idle_timeout=0.4)
    client = FogClient(api.ws_url, token=api.token(), heartbeat_interval=3600)
    clients.append(client)
    pings: list[dict] = []
    client.on("ping", pings.append)
    await client.connect(timeout=TIMEOUT)
    await wait_until(lambda: len(pings) >= 12, timeout=10)  # > 1.2 s: three idle timeouts
    assert client.state is ClientState.CONNECTED and client.connections == 1


async def test_offline_queue_then_disconnect_and_connect_again(api, clients):
    """Sent while offline: queued (bounded, oldest dropped, pings never) and delivered on
    connect. disconnect() then connect() on the same client works."""
    client = FogClient(api.ws_url, token=api.token(), queue_size=2)
    clients.append(client)
    confirmed: list[str] = []
    client.on("unsubscription_confirmed", lambda m: confirmed.append(m["room"]))
    for room in ("nodes", "tasks", "alerts"):
        assert client.send({"type": "unsubscribe", "rooms": [room]}) is False
    client.send({"type": "ping"})
    assert len(client.outbox) == 2 and client.outbox.dropped == 1
    await client.connect(timeout=TIMEOUT)
    await wait_until(lambda: confirmed == ["tasks", "alerts"])
    await client.disconnect()
    assert client.state is ClientState.CLOSED
    await client.connect(timeout=TIMEOUT)
    assert client.send({"type": "unsubscribe", "rooms": ["metrics"]}) is True
    await wait_until(lambda: confirmed[-1:] == ["metrics"])
    assert client.connections == 2


async def test_a_raising_handler_is_logged_and_the_client_carries_on(api, clients, caplog):
    client = FogClient(api.ws_url, token=api.token(), rooms=["nodes"])
    clients.append(client)
    got: list[dict] = []

    def broken(_message: dict) -> None:
        raise RuntimeError("handler bug")

    client.on("node_status_update", broken)
    client.on("node_status_update", got.append)
    await client.connect(timeout=TIMEOUT)
    await wait_until(lambda: api.hub.stats()["rooms"]["nodes"]["subscribers"] == 1)
    with caplog.at_level(logging.ERROR, logger="fogpanel.client"):
        for n in range(3):
            api.hub.publish("nodes", "node_status_update", {"n": n})
        await wait_until(lambda: len(got) == 3)
    assert client.state is ClientState.CONNECTED
    assert sum("a handler raised" in r.getMessage() for r in caplog.records) == 3


async def test_a_reconnect_storm_of_500_clients_is_spread_and_complete(make_api, clients):
    """500 clients lose the server at once; full jitter spreads their returns over the first
    backoff window and every one of them reconnects and resubscribes."""
    api = await make_api(connections_per_minute=100)
    sock, port = bind_unused_port()
    sock.close()
    front = FrontEnd(api.services, port)
    policy = BackoffPolicy(initial=1.0, maximum=4.0)
    back: dict[int, float] = {}
    for i in range(500):
        client = FogClient(url(port), token=token(sub=f"storm-{i}"), rooms=["nodes"],
                           backoff=policy)
        clients.append(client)
    try:
        await asyncio.gather(*(c.connect(timeout=30) for c in clients))
        for i, client in enumerate(clients):
            client.on_state(lambda _old, new, i=i: back.setdefault(i, time.monotonic())
                            if new is ClientState.CONNECTED else None)
        await front.stop()
        restarted = time.monotonic()
        front.start(api.services)
        await wait_until(lambda: len(back) == 500, timeout=60)
        await wait_until(lambda: api.hub.stats()["rooms"]["nodes"]["subscribers"] == 500,
                         timeout=30)
        times = sorted(t - restarted for t in back.values())
        p10, p50, p90 = (times[int(q * 499)] for q in (0.1, 0.5, 0.9))
        print(f"\nreconnect storm: 500 clients back in {times[-1]:.2f} s "
              f"(p10 {p10:.2f} s, p50 {p50:.2f} s, p90 {p90:.2f} s)")
        assert p90 - p10 > 0.4  # spread over the 1 s jitter window, not one thundering herd
        assert all(c.connections == 2 for c in clients)
    finally:
        await asyncio.gather(*(c.disconnect() for c in clients))
        if front.http is not None:
            await front.stop()


async def test_a_stable_connection_resets_the_backoff(api, front, clients):
    """Attempts are counted per outage: after each connection that lasted ``stable_after``,
    the schedule starts over, so three outages never exhaust two attempts."""
    policy = BackoffPolicy(initial=0.05, maximum=0.1, max_attempts=2, stable_after=0.0)
    client = FogClient(url(front.port), token=token(), backoff=policy)
    clients.append(client)
    await client.connect(timeout=TIMEOUT)
    for _ in range(3):
        await front.stop()
        await client.wait_for_state(ClientState.RECONNECTING, timeout=TIMEOUT)
        front.start(api.services)
        await client.wait_for_state(ClientState.CONNECTED, timeout=TIMEOUT)
    assert client.connections == 4


async def test_frames_that_are_not_json_objects_are_skipped(clients, caplog):
    """A peer that sends garbage between messages (here a bare Tornado server, not fogpanel):
    the bad frames are logged and skipped, the good ones arrive, the client stays connected."""
    from tornado.websocket import WebSocketHandler

    class Noisy(WebSocketHandler):
        def open(self) -> None:
            self.write_message('{"type":"connection_established","connection_id":"x"}')
            for frame in ("not json", "[1, 2]", b"\x00binary"):
                self.write_message(frame, binary=isinstance(frame, bytes))
            self.write_message('{"type":"node_status_update","room":"nodes","offset":1}')

    sock, port = bind_unused_port()
    server = HTTPServer(Application([(r"/api/ws/connect", Noisy)]))
    server.add_sockets([sock])
    try:
        client = FogClient(url(port), token=token())
        clients.append(client)
        got: list[dict] = []
        client.on("node_status_update", got.append)
        with caplog.at_level(logging.WARNING, logger="fogpanel.client"):
            await client.connect(timeout=TIMEOUT)
            await wait_until(lambda: len(got) == 1)
        assert client.state is ClientState.CONNECTED
        assert any("not JSON" in r.getMessage() for r in caplog.records)
    finally:
        await client.disconnect()
        server.stop()
        await server.close_all_connections()
