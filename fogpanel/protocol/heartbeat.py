"""Heartbeat arithmetic: when to ping, and when a silent peer counts as dead.

Any inbound frame counts as liveness (a ``pong`` or a ``ping`` as much as a ``subscribe``), so a
busy client is never pinged to death. Pure: ``now`` is always a parameter.

Examples
--------
>>> h = Heartbeat(interval=30, timeout=60, now=0.0)
>>> h.ping_due(29.0), h.ping_due(30.0)
(False, True)
>>> h.sent_ping(30.0); h.next_ping_at
60.0
>>> h.seen(50.0); h.expired(109.0), h.expired(110.0)
(False, True)
"""

from __future__ import annotations

__all__ = ["Heartbeat"]


class Heartbeat:
    """Server-side ping schedule and liveness deadline for one connection."""

    __slots__ = ("interval", "last_seen", "next_ping_at", "timeout")

    def __init__(self, interval: float, timeout: float, now: float) -> None:
        self.interval = interval
        self.timeout = timeout
        self.last_seen = now
        self.next_ping_at = now + interval

    def seen(self, now: float) -> None:
        """Record an inbound frame."""
        self.last_seen = now

    def ping_due(self, now: float) -> bool:
        """Whether the next server ping should go out now."""
        return now >= self.next_ping_at

    def sent_ping(self, now: float) -> None:
        """Record that a ping went out; schedule the next one."""
        self.next_ping_at = now + self.interval

    def expired(self, now: float) -> bool:
        """Whether nothing has been heard for ``timeout`` seconds."""
        return now - self.last_seen >= self.timeout

    @property
    def expires_at(self) -> float:
        """When the peer counts as dead unless a frame arrives first."""
        return self.last_seen + self.timeout

    def next_deadline(self) -> float:
        """The next moment the caller must call back (ping or expiry, whichever is first)."""
        return min(self.next_ping_at, self.expires_at)
