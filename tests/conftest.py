"""Shared fixtures: a real fogpanel API server on a free port, real WebSocket/HTTP clients.

The server is the real Tornado application built from :func:`fogpanel.server.routes.build_routes`
around real :class:`Services`; nothing of fogpanel's is mocked. Waits are on futures with
timeouts, never sleeps.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPRequest, HTTPResponse
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port
from tornado.web import Application
from tornado.websocket import WebSocketClientConnection, websocket_connect

from fogpanel.config import Settings
from fogpanel.protocol.auth import mint
from fogpanel.server.routes import build_routes
from fogpanel.server.services import Services, build_services

SECRET = "test-secret-" + "s" * 60
TIMEOUT = 5.0


def require_binary(name: str) -> str:
    """The path of ``name``; skip when missing, but fail when ``FOGPANEL_REQUIRE_ALL=1`` (CI)."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("FOGPANEL_REQUIRE_ALL") == "1":
            pytest.fail(f"{name} is required in CI (FOGPANEL_REQUIRE_ALL=1) but is not installed")
        pytest.skip(f"{name} is not installed")
    return path


def make_settings(**changes: Any) -> Settings:
    base: dict[str, Any] = {"secret": SECRET, "history_path": ""}
    base.update(changes)
    return Settings(**base)


@dataclass
class ApiServer:
    """A running API server and helpers to talk to it."""

    services: Services
    port: int
    http: HTTPServer
    clients: list[WebSocketClientConnection]

    @property
    def hub(self) -> Any:
        return self.services.hub

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/ws/connect"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def token(self, sub: str = "ada", ttl: float = 3600, **claims: Any) -> str:
        return mint(SECRET, sub=sub, ttl=ttl, now=time.time(), **claims)

    async def connect(
        self,
        token: str | None = "default",
        *,
        query: str = "",
        headers: dict[str, str] | None = None,
        established: bool = True,
    ) -> WebSocketClientConnection:
        """Open a real WebSocket; by default wait for ``connection_established``."""
        if token == "default":
            token = self.token()
        url = self.ws_url + (f"?token={token}" if token else "") + query
        conn = await asyncio.wait_for(
            websocket_connect(HTTPRequest(url, headers=headers or {})), TIMEOUT)
        self.clients.append(conn)
        if established and token:
            msg = await recv(conn)
            assert msg["type"] == "connection_established", msg
        return conn

    async def fetch(self, path: str, *, token: str | None = None, method: str = "GET",
                    body: Any = None) -> tuple[int, Any, HTTPResponse]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if body is not None and not isinstance(body, str | bytes):
            body = json.dumps(body)
        resp = await AsyncHTTPClient().fetch(
            self.url(path), method=method, headers=headers, body=body, raise_error=False)
        data = json.loads(resp.body) if resp.body else None
        return resp.code, data, resp


async def recv(conn: WebSocketClientConnection, timeout: float = TIMEOUT) -> Any:
    """The next message as JSON; fails if the connection closes or nothing arrives in time."""
    raw = await asyncio.wait_for(conn.read_message(), timeout)
    assert raw is not None, f"connection closed: {conn.close_code} {conn.close_reason}"
    return json.loads(raw)


async def recv_until(conn: WebSocketClientConnection, pred: Callable[[Any], bool],
                     timeout: float = TIMEOUT) -> Any:
    """Read messages until one satisfies ``pred``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        msg = await recv(conn, max(left, 0.001))
        if pred(msg):
            return msg


async def wait_until(pred: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    """Poll a condition on the loop until it holds; fail at the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not pred():
        assert loop.time() < deadline, "condition not reached before the deadline"
        await asyncio.sleep(0.002)  # wait_until: yield to the server on the same loop


async def closed(conn: WebSocketClientConnection, timeout: float = TIMEOUT) -> int | None:
    """Drain until the server closes; return the close code."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        raw = await asyncio.wait_for(conn.read_message(), max(left, 0.001))
        if raw is None:
            return conn.close_code


async def start_api(settings: Settings) -> ApiServer:
    services = build_services(settings)
    sock, port = bind_unused_port()
    http = HTTPServer(Application(build_routes(services)))
    http.add_sockets([sock])
    return ApiServer(services, port, http, [])


async def stop_api(server: ApiServer) -> None:
    for conn in server.clients:
        conn.close()
    await server.services.stop()
    server.http.stop()
    await asyncio.wait_for(server.http.close_all_connections(), TIMEOUT)


@pytest.fixture
async def make_api() -> AsyncIterator[Callable[..., Any]]:
    """Start API servers with given settings changes; all are stopped after the test."""
    servers: list[ApiServer] = []

    async def factory(**changes: Any) -> ApiServer:
        server = await start_api(make_settings(**changes))
        servers.append(server)
        return server

    yield factory
    for server in servers:
        await stop_api(server)


@pytest.fixture
async def api(make_api: Callable[..., Any]) -> ApiServer:
    """An API server with default settings (publishers not started)."""
    return await make_api()  # type: ignore[no-any-return]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A throwaway redis-server (no persistence) on a free port, stopped by its PID."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)  # polling for the server to listen, with a deadline
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(require_binary("redis-server"))
    server.start()
    yield server
    server.stop()
