"""The per-connection API session: a sans-I/O state machine.

The Tornado handler feeds it text frames and clock ticks and carries out the ordered list of
actions it returns: :class:`Send` a frame, :class:`Join` or :class:`Leave` a room (the hub then
sends snapshots or catch-up), or :class:`Close` the connection. All protocol decisions (auth and
its deadline, token expiry, rate limits, heartbeats, error codes) live here, with ``now`` passed
in, so they are tested with a fake clock and no server.

States: ``AWAITING_AUTH`` (opened without ``?token=``, waiting for an ``auth`` message) →
``ADMITTING`` (a valid token arrived; the adapter asks the per-user connection limit, which may
live in Redis, and answers with :meth:`ApiSession.admitted`) → ``READY`` → ``CLOSED``.

Examples
--------
>>> from fogpanel.protocol.auth import Verifier, mint
>>> s = ApiSession("c1", verifier=Verifier("k" * 32), rooms=["nodes"], now=0.0)
>>> [type(a).__name__ for a in s.start(0.0)], s.state.name
([], 'AWAITING_AUTH')
>>> token = mint("k" * 32, sub="ada", ttl=60, now=0.0)
>>> s.receive_text('{"type":"auth","token":"%s"}' % token, 1.0)
[Admit(sub='ada')]
>>> [type(a).__name__ for a in s.admitted(0.0, 1.0)], s.state.name
(['Send'], 'READY')
>>> [type(a).__name__ for a in s.receive_text('{"type":"subscribe","rooms":["nodes"]}', 2.0)]
['Send', 'Join']
>>> s.tick(61.0)[-1]
Close(code=4401, reason='token expired')
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from fogpanel import errors
from fogpanel.protocol import messages
from fogpanel.protocol.auth import Claims, Verifier
from fogpanel.protocol.heartbeat import Heartbeat
from fogpanel.protocol.ratelimit import TokenBucket

__all__ = ["Action", "Admit", "ApiSession", "Close", "Join", "Leave", "Send", "State"]


class State(enum.Enum):
    AWAITING_AUTH = "awaiting_auth"
    ADMITTING = "admitting"
    READY = "ready"
    CLOSED = "closed"


@dataclass(frozen=True)
class Send:
    """Write this text frame to the client."""

    text: str


@dataclass(frozen=True)
class Join:
    """Subscribe the connection to ``room``; replay after ``since`` or send the snapshot."""

    room: str
    since: int | None = None
    epoch: str | None = None


@dataclass(frozen=True)
class Leave:
    """Unsubscribe the connection from ``room``."""

    room: str


@dataclass(frozen=True)
class Close:
    """Close the connection with this WebSocket close code."""

    code: int
    reason: str


@dataclass(frozen=True)
class Admit:
    """Ask the per-user connection limit about ``sub`` and pass the answer to
    :meth:`ApiSession.admitted` (frames arriving meanwhile are held, then handled in order)."""

    sub: str


Action = Send | Join | Leave | Close | Admit

# Frames a client may send while its admission is being decided; later ones are dropped.
_HOLD_WHILE_ADMITTING = 32

# States in which the auth deadline runs.
_UNAUTHENTICATED = frozenset({State.AWAITING_AUTH, State.ADMITTING})

# The streak of rate-limited frames ends after this long without one.
_STREAK_RESET = 1.0


class ApiSession:
    """Protocol state of one WebSocket API connection (slotted: one exists per connection).

    Parameters
    ----------
    connection_id
        Sent in ``connection_established``.
    verifier
        Checks ``auth`` tokens.
    rooms
        Names of the rooms that exist (pass one shared frozenset: it is kept, not copied).
    now
        Wall-clock seconds at creation.
    claims
        Already-verified claims when the token came in the query string.
    epoch
        The hub's history epoch, told to the client in ``connection_established`` and
        ``subscription_confirmed`` so it can ask for catch-up with ``since`` + ``epoch``.
    """

    __slots__ = (
        "_auth_deadline", "_bucket", "_close_after", "_heartbeat", "_held", "_last_strike",
        "_pending", "_rooms", "_strikes", "_verifier", "claims", "connection_id", "epoch",
        "messages_in", "opened_at", "state",
    )

    def __init__(
        self,
        connection_id: str,
        *,
        verifier: Verifier,
        rooms: Iterable[str],
        now: float,
        claims: Claims | None = None,
        auth_timeout: float = 5.0,
        ping_interval: float = 30.0,
        idle_timeout: float = 60.0,
        messages_per_second: float = 100.0,
        message_burst: int = 100,
        rate_limit_close_after: int = 100,
        epoch: str | None = None,
    ) -> None:
        self.connection_id = connection_id
        self.epoch = epoch
        self.claims = claims
        self.state = State.AWAITING_AUTH
        self.opened_at = now
        self.messages_in = 0
        self._verifier = verifier
        self._rooms = rooms if isinstance(rooms, frozenset) else frozenset(rooms)
        self._pending: Claims | None = None
        self._held: list[messages.Message] = []
        self._auth_deadline = now + auth_timeout
        self._heartbeat = Heartbeat(ping_interval, idle_timeout, now)
        self._bucket = TokenBucket(messages_per_second, message_burst, now)
        self._close_after = rate_limit_close_after
        self._strikes = 0
        self._last_strike = float("-inf")

    # -- inputs ---------------------------------------------------------------------------

    def start(self, now: float) -> list[Action]:
        """Begin the session: greet at once if the token came with the request."""
        if self.claims is not None:
            return self._established(now)
        return []

    def receive_text(self, text: str, now: float) -> list[Action]:
        """Handle one inbound text frame."""
        if self.state is State.CLOSED:
            return []
        self._heartbeat.seen(now)
        self.messages_in += 1
        limited = self._rate_limit(now)
        if limited is not None:
            return limited
        try:
            msg = messages.parse(text)
        except errors.ProtocolError as exc:
            return [self._error(exc, now)]
        if self.state is State.AWAITING_AUTH:
            return self._while_awaiting_auth(msg, now)
        if self.state is State.ADMITTING:
            return self._hold(msg, now)
        return self._dispatch(msg, now)

    def admitted(self, wait: float, now: float) -> list[Action]:
        """The answer to :class:`Admit`: 0 admits (then the held frames are handled), more is
        the seconds the user must wait (an error, then close 4429)."""
        if self.state is not State.ADMITTING:
            return []  # closed meanwhile
        claims, held = self._pending, self._held
        self._pending, self._held = None, []
        if wait > 0:
            exc = errors.RateLimited("too many connections for this user", retry_after=wait)
            return [self._error(exc, now, retry_after=round(wait, 3)),
                    *self._close(errors.CLOSE_RATE_LIMITED, "connection rate limit")]
        self.claims = claims
        actions = self._established(now)
        for msg in held:
            if self.state is State.CLOSED:
                break
            actions += self._dispatch(msg, now)
        return actions

    def receive_binary(self, now: float) -> list[Action]:
        """Handle one inbound binary frame: the API is JSON text only."""
        if self.state is State.CLOSED:
            return []
        self._heartbeat.seen(now)
        limited = self._rate_limit(now)
        if limited is not None:
            return limited
        return [self._error(errors.BadMessage("binary frames are not supported"), now)]

    def receive_control(self, now: float) -> None:
        """A WebSocket-level ping or pong arrived: it counts as liveness too."""
        self._heartbeat.seen(now)

    def tick(self, now: float) -> list[Action]:
        """Check deadlines: auth timeout, token expiry, idle timeout, server ping."""
        if self.state is State.CLOSED:
            return []
        if self.state in _UNAUTHENTICATED and now >= self._auth_deadline:
            return self._close(errors.CLOSE_AUTH, "authentication timed out")
        if self.claims is not None and now >= self.claims.exp:
            return [
                Send(messages.error("token_expired", "the token has expired", now)),
                *self._close(errors.CLOSE_AUTH, "token expired"),
            ]
        if self._heartbeat.expired(now):
            return self._close(errors.CLOSE_IDLE, "no frame received within the idle timeout")
        if self.state is State.READY and self._heartbeat.ping_due(now):
            self._heartbeat.sent_ping(now)
            return [Send(messages.dump("ping", now))]
        return []

    def next_deadline(self) -> float:
        """When :meth:`tick` must next be called."""
        deadline = self._heartbeat.next_deadline()
        if self.state in _UNAUTHENTICATED:
            deadline = min(deadline, self._auth_deadline)
        if self.claims is not None:
            deadline = min(deadline, self.claims.exp)
        return deadline

    def closed(self) -> None:
        """The transport closed (by either side)."""
        self.state = State.CLOSED

    # -- internals ------------------------------------------------------------------------

    def _rate_limit(self, now: float) -> list[Action] | None:
        if self._bucket.take(now):
            return None
        if now - self._last_strike > _STREAK_RESET:
            self._strikes = 0
        self._strikes += 1
        self._last_strike = now
        if self._strikes >= self._close_after:
            return [
                Send(messages.error("rate_limited", "message rate limit exceeded", now)),
                *self._close(errors.CLOSE_RATE_LIMITED, "message rate limit exceeded"),
            ]
        if self._strikes == 1:
            return [Send(messages.error(
                "rate_limited", "too many messages; this one was dropped", now))]
        return []

    def _while_awaiting_auth(self, msg: messages.Message, now: float) -> list[Action]:
        if isinstance(msg, messages.Auth):
            return self._authenticate(msg.token, now)
        if isinstance(msg, messages.Ping | messages.Pong):
            return self._dispatch(msg, now)
        return [
            Send(messages.error("unauthorized", "send an auth message first", now)),
            *self._close(errors.CLOSE_AUTH, "not authenticated"),
        ]

    def _authenticate(self, token: str, now: float) -> list[Action]:
        try:
            claims = self._verifier.verify(token, now=now)
        except errors.AuthError as exc:
            if self.state is State.READY:
                return [self._error(exc, now)]
            return [self._error(exc, now), *self._close(errors.CLOSE_AUTH, exc.code)]
        if self.state is State.READY:
            # A token refresh: same subject only, the rooms already joined stay.
            assert self.claims is not None
            if claims.sub != self.claims.sub:
                return [self._error(errors.TokenInvalid("a refreshed token must keep its sub"),
                                    now)]
            self.claims = claims
            return [Send(messages.dump("authenticated", now, sub=claims.sub,
                                       expires_at=messages.iso(claims.exp)))]
        self.state = State.ADMITTING
        self._pending = claims
        return [Admit(claims.sub)]

    def _hold(self, msg: messages.Message, now: float) -> list[Action]:
        if len(self._held) >= _HOLD_WHILE_ADMITTING:
            return [self._error(errors.RateLimited(
                "too many messages before connection_established; this one was dropped"), now)]
        self._held.append(msg)
        return []

    def _established(self, now: float) -> list[Action]:
        self.state = State.READY
        assert self.claims is not None
        return [Send(messages.dump(
            "connection_established", now, connection_id=self.connection_id,
            user=self.claims.sub, rooms=sorted(self._rooms), **self._epoch(),
        ))]

    def _epoch(self) -> dict[str, str]:
        return {"epoch": self.epoch} if self.epoch is not None else {}

    def _dispatch(self, msg: messages.Message, now: float) -> list[Action]:
        if isinstance(msg, messages.Subscribe):
            return self._subscribe(msg, now)
        if isinstance(msg, messages.Unsubscribe):
            return self._unsubscribe(msg, now)
        if isinstance(msg, messages.Ping):
            return [Send(messages.dump("pong", now))]
        if isinstance(msg, messages.Pong):
            return []
        return self._authenticate(msg.token, now)

    def _room_error(self, room: str, now: float) -> Send | None:
        if room not in self._rooms:
            return self._error(errors.UnknownRoom(f"unknown room {room!r}"), now, room=room)
        assert self.claims is not None
        if not self.claims.may_join(room):
            return self._error(errors.ForbiddenRoom(f"the token does not allow room {room!r}"),
                               now, room=room)
        return None

    def _subscribe(self, msg: messages.Subscribe, now: float) -> list[Action]:
        actions: list[Action] = []
        for room in msg.rooms:
            problem = self._room_error(room, now)
            if problem is not None:
                actions.append(problem)
                continue
            actions.append(Send(messages.dump("subscription_confirmed", now, room=room,
                                              **self._epoch())))
            actions.append(Join(room, msg.since.get(room), msg.epoch))
        return actions

    def _unsubscribe(self, msg: messages.Unsubscribe, now: float) -> list[Action]:
        actions: list[Action] = []
        for room in msg.rooms:
            if room not in self._rooms:
                actions.append(self._error(errors.UnknownRoom(f"unknown room {room!r}"), now,
                                           room=room))
                continue
            actions.append(Leave(room))
            actions.append(Send(messages.dump("unsubscription_confirmed", now, room=room)))
        return actions

    def _error(self, exc: errors.FogpanelError, now: float, **extra: object) -> Send:
        return Send(messages.error(exc.code, exc.message, now, **extra))

    def _close(self, code: int, reason: str) -> list[Action]:
        self.state = State.CLOSED
        return [Close(code, reason)]
