"""``FogClient``: a fogpanel API client that never loses its place.

One asyncio task per client owns the connection: it connects (token from the caller or a
callback, asked again on every attempt), waits for ``connection_established``, subscribes to
its rooms with ``since`` offsets so a reconnect replays exactly what was missed, sends what was
queued while offline, then reads. Every frame counts as liveness; when none arrives for
``dead_after`` seconds the connection is presumed half-open and dropped (the server's own pings
and the client's pings keep a healthy connection talking). Transient failures are retried with
full-jitter exponential backoff; permanent ones (HTTP 401/403, close 4401/4403) stop the client
in the ``error`` state instead of hammering the server. Handlers' exceptions are logged, never
propagated.

Usable from asyncio code and from a notebook cell (top-level ``await``)::

    client = FogClient("ws://127.0.0.1:5006/api/ws/connect", token=token, rooms=["nodes"])
    client.on("node_status_update", lambda m: print(m["data"]["betanet"]))
    await client.connect()
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from enum import StrEnum
from typing import Any

import jwt
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClientConnection, WebSocketClosedError, websocket_connect

from fogpanel.backoff import Backoff, BackoffPolicy
from fogpanel.client.cursor import RoomCursor
from fogpanel.client.outbox import Outbox

__all__ = ["ClientState", "FogClient"]

logger = logging.getLogger("fogpanel.client")

Handler = Callable[[dict[str, Any]], Any]
TokenSource = Callable[[], "str | Awaitable[str]"]

# Close codes after which retrying with the same credentials cannot help.
_PERMANENT_CLOSE = frozenset({4401, 4403})
_PERMANENT_HTTP = frozenset({401, 403})
_END = object()


class ClientState(StrEnum):
    """Where the client is; handlers registered with :meth:`FogClient.on_state` hear changes."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    ERROR = "error"
    CLOSED = "closed"


class FogClient:
    """A reconnecting, catching-up client for ``/api/ws/connect``."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        token_provider: TokenSource | None = None,
        rooms: Iterable[str] = (),
        backoff: BackoffPolicy | None = None,
        heartbeat_interval: float = 15.0,
        dead_after: float = 45.0,
        queue_size: int = 1000,
        connect_timeout: float = 10.0,
        refresh_before: float = 60.0,
        backoff_rng: Any | None = None,
    ) -> None:
        if token is None and token_provider is None:
            raise ValueError("give a token or a token_provider")
        self.url = url
        self._token = token
        self._token_provider = token_provider
        self.policy = backoff or BackoffPolicy()
        self._backoff = Backoff(self.policy, backoff_rng)
        self.heartbeat_interval = heartbeat_interval
        self.dead_after = dead_after
        self.connect_timeout = connect_timeout
        self.refresh_before = refresh_before
        self.cursor = RoomCursor(rooms)
        self.outbox = Outbox(queue_size)
        self.state = ClientState.DISCONNECTED
        self.last_error: str | None = None
        self.connection_id: str | None = None
        self.connections = 0  # successful connections over the client's life
        self._handlers: defaultdict[str, list[Handler]] = defaultdict(list)
        self._state_handlers: list[Callable[[ClientState, ClientState], Any]] = []
        self._iterators: set[asyncio.Queue[Any]] = set()
        self._conn: WebSocketClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._settled: asyncio.Event | None = None
        self._token_exp: float | None = None

    # -- handlers -------------------------------------------------------------------------------

    def on(self, kind: str, handler: Handler) -> Callable[[], None]:
        """Call ``handler(message)`` for messages of ``kind`` (``"*"``: every message; an error
        code such as ``"history_gap"``: those errors). Returns the function that removes it."""
        self._handlers[kind].append(handler)
        return lambda: self._remove(self._handlers[kind], handler)

    def on_state(self, handler: Callable[[ClientState, ClientState], Any]) -> Callable[[], None]:
        """Call ``handler(old, new)`` on every state change (only on a change)."""
        self._state_handlers.append(handler)
        return lambda: self._remove(self._state_handlers, handler)

    @staticmethod
    def _remove(handlers: list[Any], handler: Any) -> None:
        if handler in handlers:
            handlers.remove(handler)

    # -- lifecycle ------------------------------------------------------------------------------

    async def connect(self, *, wait: bool = True, timeout: float | None = None) -> None:
        """Start the connection task (again after :meth:`disconnect`). With ``wait``, return
        once connected; raise ``ConnectionError`` if the client ends in ``error`` first."""
        if self._task is None or self._task.done():
            self._stop = asyncio.Event()
            self._settled = asyncio.Event()
            self._backoff.reset()
            self.last_error = None
            self._task = asyncio.get_running_loop().create_task(self._run())
        if wait:
            assert self._settled is not None
            await asyncio.wait_for(self._settled.wait(), timeout)
            if self.state is not ClientState.CONNECTED:
                raise ConnectionError(self.last_error or self.state.value)

    async def disconnect(self) -> None:
        """Close the connection and stop reconnecting; :meth:`connect` starts again."""
        if self._stop is not None:
            self._stop.set()
        if self._conn is not None:
            self._conn.close(1000, "client disconnect")
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        self._set_state(ClientState.CLOSED)

    async def wait_for_state(self, *states: ClientState, timeout: float | None = None) -> None:
        """Return once the client is in one of ``states``."""
        reached = asyncio.Event()
        if self.state in states:
            return
        off = self.on_state(lambda _old, new: reached.set() if new in states else None)
        try:
            await asyncio.wait_for(reached.wait(), timeout)
        finally:
            off()

    # -- sending --------------------------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> bool:
        """Send now if connected (True); otherwise queue it (False; pings are not queued)."""
        if self.state is ClientState.CONNECTED and self._write(message):
            return True
        self.outbox.put(message)
        return False

    async def subscribe(self, rooms: Iterable[str]) -> None:
        """Join ``rooms`` now and after every reconnect."""
        new = self.cursor.add(rooms)
        if new and self.state is ClientState.CONNECTED:
            self._write(self.cursor.subscribe_message(new))

    async def unsubscribe(self, rooms: Iterable[str]) -> None:
        """Leave ``rooms`` (and stop asking for them on reconnect)."""
        rooms = list(rooms)
        self.cursor.remove(rooms)
        if self.state is ClientState.CONNECTED:
            self._write({"type": "unsubscribe", "rooms": rooms})

    async def refresh_token(self) -> None:
        """Ask the token provider for a new token and hand it to the live connection."""
        token = await self._current_token()
        if self.state is ClientState.CONNECTED:
            self._write({"type": "auth", "token": token})

    def _write(self, message: dict[str, Any]) -> bool:
        conn = self._conn
        if conn is None:
            return False
        try:
            conn.write_message(json.dumps(message, separators=(",", ":")))
        except WebSocketClosedError:
            return False
        return True

    # -- iteration ------------------------------------------------------------------------------

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        """Every message from now on, until the client is closed."""
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self._iterators.add(queue)
        off = self.on("*", queue.put_nowait)
        try:
            while (item := await queue.get()) is not _END:
                yield item
        finally:
            off()
            self._iterators.discard(queue)

    # -- the connection task --------------------------------------------------------------------

    def _set_state(self, new: ClientState) -> None:
        old = self.state
        if new is old:
            return
        self.state = new
        if new in (ClientState.CONNECTED, ClientState.ERROR, ClientState.CLOSED):
            if self._settled is not None:
                self._settled.set()
        if new in (ClientState.ERROR, ClientState.CLOSED):
            for queue in self._iterators:
                queue.put_nowait(_END)
        for handler in list(self._state_handlers):
            self._call(handler, old, new)

    async def _run(self) -> None:
        assert self._stop is not None
        first = True
        while not self._stop.is_set():
            self._set_state(ClientState.CONNECTING if first else ClientState.RECONNECTING)
            first = False
            outcome = await self._session()
            if outcome == "stop":
                break
            if outcome == "permanent":
                self._set_state(ClientState.ERROR)
                return
            delay = self._backoff.next_delay()
            if delay is None:
                self.last_error = f"gave up after {self._backoff.attempts} attempts: " \
                                  f"{self.last_error}"
                self._set_state(ClientState.ERROR)
                return
            try:
                await asyncio.wait_for(self._stop.wait(), delay)
            except TimeoutError:
                continue
        self._set_state(ClientState.CLOSED)

    async def _current_token(self) -> str:
        token = self._token
        if self._token_provider is not None:
            value = self._token_provider()
            token = await value if inspect.isawaitable(value) else value
            self._token = token
        assert token is not None
        try:
            exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
        except jwt.PyJWTError:
            exp = None
        self._token_exp = float(exp) if isinstance(exp, int | float) else None
        return token

    async def _session(self) -> str:
        """One connection from attempt to end: ``stop``, ``permanent`` or ``transient``."""
        assert self._stop is not None
        try:
            token = await self._current_token()
            request = HTTPRequest(self.url, headers={"Authorization": f"Bearer {token}"},
                                  connect_timeout=self.connect_timeout,
                                  request_timeout=self.connect_timeout)
            conn = await websocket_connect(request)
        except HTTPClientError as exc:
            self.last_error = f"HTTP {exc.code}: {exc.message}"
            return "permanent" if exc.code in _PERMANENT_HTTP else "transient"
        except (OSError, TimeoutError, StreamClosedError) as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            return "transient"
        if self._stop.is_set():
            conn.close(1000, "client disconnect")
            return "stop"
        self._conn = conn
        started = time.monotonic()
        heartbeat: asyncio.Task[None] | None = None
        try:
            hello = await self._read(conn, self.connect_timeout)
            if hello is None or hello.get("type") != "connection_established":
                return await self._ended(conn, hello)
            self.connection_id = hello.get("connection_id")
            self.connections += 1
            self.cursor.established(hello.get("epoch"))
            self._set_state(ClientState.CONNECTED)
            if self.cursor.rooms:
                self._write(self.cursor.subscribe_message())
            for message in self.outbox.drain():
                self._write(message)
            heartbeat = asyncio.get_running_loop().create_task(self._heartbeat())
            self._dispatch(hello)
            while True:
                message = await self._read(conn, self.dead_after)
                if message is None:
                    return await self._ended(conn, None)
                self._dispatch(message)
        finally:
            if heartbeat is not None:
                heartbeat.cancel()
            conn.close()  # also after the server closed: releases Tornado's protocol object
            self._conn = None
            if time.monotonic() - started >= self.policy.stable_after:
                self._backoff.reset()

    async def _read(self, conn: WebSocketClientConnection,
                    timeout: float) -> dict[str, Any] | None:
        """The next message, or None when the connection ended or went silent too long."""
        while True:
            try:
                raw = await asyncio.wait_for(conn.read_message(), timeout)
            except TimeoutError:
                self.last_error = f"no frame for {timeout:g} s (connection presumed dead)"
                _abort(conn)
                return None
            if raw is None:
                return None
            if isinstance(raw, bytes):
                continue
            try:
                message = json.loads(raw)
            except json.JSONDecodeError:
                logger.warning("fogpanel client: a frame that is not JSON was ignored")
                continue
            if isinstance(message, dict):
                return message

    async def _ended(self, conn: WebSocketClientConnection,
                     last: dict[str, Any] | None) -> str:
        """Classify the end of a connection. ``last`` is a first frame that was not
        ``connection_established`` (an error frame): the close that follows it is awaited."""
        assert self._stop is not None
        if self._stop.is_set():
            return "stop"
        while last is not None:
            self._dispatch(last)
            last = await self._read(conn, self.connect_timeout)
        code = conn.close_code
        if code is not None:
            self.last_error = f"closed {code}: {conn.close_reason or ''}".strip()
        # An expired token is curable when a provider can mint a new one.
        if code in _PERMANENT_CLOSE and not (code == 4401 and self._token_provider):
            return "permanent"
        return "transient"

    async def _heartbeat(self) -> None:
        """Ping every ``heartbeat_interval``; refresh the token before it expires."""
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            self._write({"type": "ping"})
            if (self._token_provider is not None and self._token_exp is not None
                    and self._token_exp - time.time() < self.refresh_before):
                await self.refresh_token()

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "ping":
            self._write({"type": "pong"})
        room = message.get("room")
        offset = message.get("offset")
        if kind == "subscription_confirmed" and isinstance(room, str):
            self.cursor.established(message.get("epoch"))
        elif kind == "error" and message.get("code") == "history_gap" and isinstance(room, str):
            self.cursor.gap(room, message.get("epoch"))
        elif isinstance(room, str) and isinstance(offset, int) and kind != "error":
            if not self.cursor.accept(room, offset):
                return
        handlers = list(self._handlers.get(str(kind), ()))
        if kind == "error":
            handlers += self._handlers.get(str(message.get("code")), ())
        handlers += self._handlers.get("*", ())
        for handler in handlers:
            self._call(handler, message)

    def _call(self, handler: Callable[..., Any], *args: Any) -> None:
        try:
            result = handler(*args)
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                task.add_done_callback(_log_task_error)
        except Exception:
            logger.exception("fogpanel client: a handler raised; the client carries on")


def _abort(conn: WebSocketClientConnection) -> None:
    """Drop a presumed-dead connection at once: its peer will never answer a close handshake,
    and Tornado would hold the socket open for seconds waiting for the answer."""
    protocol = conn.protocol
    if protocol is not None and protocol.stream is not None:
        protocol.stream.close()
    conn.close()


def _log_task_error(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("fogpanel client: an async handler raised; the client carries on",
                     exc_info=task.exception())
