"""The WebSocket API handler: a thin adapter between Tornado and :class:`ApiSession`.

It moves bytes and nothing else: refuses a handshake that fails the pre-upgrade checks
(connection cap 503, origin 403, bad ``?token=`` 401, per-user connection rate 429), feeds frames
and clock ticks to the pure session, and carries out the session's actions in order. As a hub
subscriber it writes the hub's prebuilt frame straight to its stream, and reports a full outbound
buffer so the hub can close it with 4508.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from tornado.httputil import HTTPHeaders
from tornado.ioloop import IOLoop
from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketHandler

from fogpanel import errors
from fogpanel.hub import Outbound
from fogpanel.protocol.auth import Claims
from fogpanel.protocol.frames import text_frame
from fogpanel.protocol.messages import iso
from fogpanel.protocol.session import (
    Action,
    Admit,
    ApiSession,
    Close,
    Join,
    Leave,
    Send,
    State,
)
from fogpanel.server.logs import QuietLogMixin
from fogpanel.server.services import Services

__all__ = ["ApiSocketHandler", "bearer_token", "origin_allowed"]

logger = logging.getLogger("fogpanel.server")


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if any."""
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


def origin_allowed(origin: str, host: str, allowed: tuple[str, ...]) -> bool:
    """Same-origin, or listed (``*`` allows all).

    >>> origin_allowed("http://evil.example", "127.0.0.1:5006", ())
    False
    >>> origin_allowed("http://127.0.0.1:5006", "127.0.0.1:5006", ())
    True
    """
    if "*" in allowed or origin in allowed:
        return True
    return urlparse(origin).netloc.lower() == host.lower()


class ApiSocketHandler(QuietLogMixin, WebSocketHandler):
    """``/api/ws/connect``."""

    # One handler exists per open connection, so its memory matters. Our attributes live in slots:
    # Tornado already sets ~27 instance attributes, and past 30 CPython stops sharing the
    # instance dict's keys and gives each handler its own ~1.6 KiB dict.
    __slots__ = ("_claims", "_stream", "_timer", "connection_id", "services", "session")

    def initialize(self, services: Callable[[], Services]) -> None:
        self.services = services()
        self.session: ApiSession | None = None
        self.connection_id = self.services.new_connection_id()
        self._claims: Claims | None = None
        self._timer: object | None = None
        self._stream: Any = None

    # -- handshake ------------------------------------------------------------------------

    def _refuse(self, exc: errors.FogpanelError) -> None:
        self.services.refuse(exc.code)
        self.set_status(exc.status)
        if isinstance(exc, errors.RateLimited | errors.Joining):
            self.set_header("Retry-After", str(max(1, math.ceil(exc.retry_after))))
        if isinstance(exc, errors.AuthError):
            self.set_header("WWW-Authenticate", 'Bearer realm="fogpanel"')
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": {"code": exc.code, "message": exc.message}}))

    async def get(self, *args: Any, **kwargs: Any) -> None:
        now = time.time()
        services = self.services
        if len(services.connections) >= services.max_connections:
            return self._refuse(errors.Overloaded("the server holds its maximum of connections"))
        if not services.joined():
            return self._refuse(errors.Joining("joining the cluster; retry in a second"))
        origin = self.request.headers.get("Origin")
        if origin is not None and not self.check_origin(origin):
            return self._refuse(errors.Forbidden("cross-origin connections are not allowed"))
        token = self.get_query_argument("token", None) or bearer_token(
            self.request.headers.get("Authorization"))
        if token is not None:
            try:
                claims = services.verifier.verify(token, now=now)
            except errors.AuthError as exc:
                return self._refuse(exc)
            wait = await services.admit_connection(claims.sub, now)
            if wait > 0:
                return self._refuse(errors.RateLimited(
                    "too many connections for this user; retry later", retry_after=wait))
            self._claims = claims
        elif "token" in self.request.arguments:
            return self._refuse(errors.TokenMissing("the token parameter is empty"))
        await super().get(*args, **kwargs)

    def check_origin(self, origin: str) -> bool:
        return origin_allowed(origin, self.request.host, self.services.settings.allowed_origins)

    @property
    def max_message_size(self) -> int:  # type: ignore[override]
        return self.services.settings.max_frame_bytes

    # -- session --------------------------------------------------------------------------

    def open(self, *args: str, **kwargs: str) -> None:
        now = time.time()
        s = self.services.settings
        self._stream = self.ws_connection.stream  # type: ignore[union-attr]
        self._forget_handshake()
        self.session = ApiSession(
            self.connection_id,
            verifier=self.services.verifier,
            rooms=self.services.hub.registry.room_set,
            now=now,
            claims=self._claims,
            auth_timeout=s.auth_timeout,
            ping_interval=s.ping_interval,
            idle_timeout=s.idle_timeout,
            messages_per_second=s.messages_per_second,
            message_burst=s.message_burst,
            rate_limit_close_after=s.rate_limit_close_after,
            epoch=self.services.hub.epoch,
        )
        self.services.register(self)
        self._apply(self.session.start(now))
        self._schedule()

    def _forget_handshake(self) -> None:
        # The request's headers, parsed query and raw URI (token included), the response
        # headers and the template namespace are not needed once the upgrade is done; dropping
        # them saves ~1.8 KiB per idle connection.
        req = self.request
        self.ui = None
        self._headers = HTTPHeaders()
        req.headers = HTTPHeaders()
        req.arguments, req.query_arguments, req.body_arguments = {}, {}, {}
        req.uri, req.query = req.path, ""

    def on_message(self, message: str | bytes) -> None:
        if self.session is None:
            return
        now = time.time()
        if isinstance(message, bytes):
            self._apply(self.session.receive_binary(now))
        else:
            self._apply(self.session.receive_text(message, now))

    def on_ping(self, data: bytes) -> None:
        if self.session is not None:
            self.session.receive_control(time.time())

    def on_pong(self, data: bytes) -> None:
        self.on_ping(data)

    def on_close(self) -> None:
        if self._timer is not None:
            IOLoop.current().remove_timeout(self._timer)
            self._timer = None
        self.services.hub.leave_all(self)
        self.services.unregister(self)
        if self.session is not None:
            self.session.closed()

    def _on_timer(self) -> None:
        self._timer = None
        if self.session is None:
            return
        self._apply(self.session.tick(time.time()))
        self._schedule()

    def _schedule(self) -> None:
        if self.session is None or self.ws_connection is None:
            return
        if self.session.state is State.CLOSED:
            return
        delay = max(0.0, self.session.next_deadline() - time.time())
        self._timer = IOLoop.current().call_later(delay, self._on_timer)

    def _apply(self, actions: list[Action]) -> None:
        hub = self.services.hub
        for action in actions:
            if isinstance(action, Send):
                self._write(text_frame(action.text.encode()), bounded=False)
            elif isinstance(action, Join):
                hub.join(self, action.room, action.since, action.epoch)
            elif isinstance(action, Leave):
                hub.leave(self, action.room)
            elif isinstance(action, Close):
                self.shutdown(action.code, action.reason)
                return
            elif isinstance(action, Admit):
                self._admit(action.sub)

    def _admit(self, sub: str) -> None:
        """Answer the session's admission question: at once from this process's counter, or
        from Redis when the count is cluster-wide (the session holds frames meanwhile)."""
        services, session = self.services, self.session
        if services.conn_limit is None and session is not None:
            now = time.time()
            self._apply(session.admitted(services.admit_user(sub, now), now))
        else:
            IOLoop.current().add_callback(self._admit_across_processes, sub)

    async def _admit_across_processes(self, sub: str) -> None:
        wait = await self.services.admit_connection(sub, time.time())
        if self.session is not None:
            self._apply(self.session.admitted(wait, time.time()))

    # -- hub subscriber -------------------------------------------------------------------

    def _write(self, frame: bytes, *, bounded: bool = True) -> bool:
        """Send ``frame`` now if the socket takes it, else queue it on the stream.

        When the stream has nothing queued, one non-blocking ``send`` usually takes the whole
        frame and we skip ``IOStream.write``'s Future, done-callback and loop round trip (the
        bulk of the per-delivery cost at 1,000 subscribers). Whatever the socket does not take
        is queued on the stream, behind which every later frame then queues, so order holds.
        Returns False (and sends nothing) when ``bounded`` and the unsent bytes would exceed the
        outbound buffer bound; the session's own replies are small and never refused.
        """
        stream = self._stream
        if stream is None or stream.closed():
            return True
        # IOStream counts bytes queued and bytes sent (private, stable since Tornado 5); their
        # difference is this connection's unsent outbound buffer.
        pending = stream._total_write_index - stream._total_write_done_index
        if pending == 0 and not stream._connecting:
            try:
                sent = stream.socket.send(frame)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                sent = 0  # let IOStream.write below see the error and close the stream
            if sent == len(frame):
                return True
            frame = frame[sent:]
        elif bounded and pending + len(frame) > self.services.settings.outbound_buffer_bytes:
            return False
        try:
            stream.write(frame)
        except StreamClosedError:
            pass
        return True

    def deliver(self, out: Outbound) -> bool:
        return self._write(out.frame)

    def close_slow(self) -> None:
        self.shutdown(errors.CLOSE_SLOW_CONSUMER, "outbound buffer full: reader too slow")

    def shutdown(self, code: int, reason: str) -> None:
        if self.session is not None:
            self.session.closed()
        self.services.hub.leave_all(self)
        if self.ws_connection is not None:
            self.close(code, reason)

    def describe(self) -> dict[str, Any]:
        session = self.session
        return {
            "connection_id": self.connection_id,
            "user": session.claims.sub if session and session.claims else None,
            "state": session.state.value if session else "connecting",
            "rooms": sorted(self.services.hub.registry.rooms_of(self)),
            "connected_at": iso(session.opened_at) if session else None,
            "messages_received": session.messages_in if session else 0,
            "remote_ip": self.request.remote_ip,
        }
