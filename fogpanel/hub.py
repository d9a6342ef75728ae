"""The hub: rooms, numbered history and fan-out to subscribers.

A broadcast is serialised once (JSON text, then one WebSocket frame) and the same bytes are handed
to every subscriber of the room. Delivery never waits: each subscriber owns a bounded outbound
buffer and reports when it is full; the hub then drops it from every room, counts it, and asks it
to close (4508), so one reader that stopped reading never delays the others.

Each room keeps its latest message (sent on subscribe marked ``"snapshot": true``, so a new client
never waits for the next tick) and a bounded numbered history (``offset`` within ``epoch``) for
catch-up after a reconnect.

Examples
--------
>>> class Inbox:
...     def __init__(self): self.got = []
...     def deliver(self, out): self.got.append(json.loads(out.text)); return True
...     def close_slow(self): pass
>>> hub = Hub(["nodes"], history_size=10, clock=lambda: 0.0)
>>> hub.publish("nodes", "node_status_update", {"n": 1})
1
>>> inbox = Inbox(); hub.join(inbox, "nodes")
>>> inbox.got[0]["snapshot"], inbox.got[0]["offset"]
(True, 1)
>>> _ = hub.publish("nodes", "node_status_update", {"n": 2}); inbox.got[1]["data"]
{'n': 2}
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from fogpanel import errors
from fogpanel.protocol.frames import text_frame
from fogpanel.protocol.messages import iso
from fogpanel.protocol.rooms import RoomLog, RoomRegistry

__all__ = ["Hub", "Outbound", "Subscriber"]

logger = logging.getLogger("fogpanel.hub")


class Outbound:
    """One outbound message: its JSON text and, built on first use and shared by every
    subscriber, its frame and its parsed form."""

    __slots__ = ("_frame", "_message", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._frame: bytes | None = None
        self._message: dict[str, Any] | None = None

    @property
    def message(self) -> dict[str, Any]:
        """The message parsed once for all in-process subscribers (dashboard sessions).

        Parsed from the text, so it shares nothing with the publisher's objects; read-only by
        convention, since every subscriber sees the same objects.
        """
        if self._message is None:
            self._message = json.loads(self.text)
        return self._message

    @property
    def frame(self) -> bytes:
        """The encoded WebSocket text frame, built once for all subscribers."""
        if self._frame is None:
            self._frame = text_frame(self.text.encode())
        return self._frame


class Subscriber(Protocol):
    """What the hub needs from a subscriber (an API connection, a dashboard session)."""

    def deliver(self, out: Outbound) -> bool:
        """Queue ``out``; return False when the outbound buffer is full."""
        ...

    def close_slow(self) -> None:
        """Close because the subscriber fell too far behind."""
        ...


class Broker(Protocol):
    """Where a scaled-out hub sends its publications (see :mod:`fogpanel.scale.broker`)."""

    def submit(self, room: str, text: str) -> None:
        """Publish ``text`` (a message without ``offset``) to every process, in order."""
        ...


class Hub:
    """Rooms, their logs, and fan-out.

    With a :class:`Broker` attached, :meth:`publish` hands the message to the broker instead,
    and the broker gives it back numbered through :meth:`relay` in every process (this one
    included), so all processes deliver the same messages with the same offsets in the same
    order.
    """

    def __init__(
        self,
        rooms: Iterable[str],
        *,
        history_size: int = 1000,
        clock: Callable[[], float] = time.time,
        epoch: str | None = None,
    ) -> None:
        self.registry: RoomRegistry[Subscriber] = RoomRegistry(rooms)
        self.epoch = epoch or secrets.token_hex(4)
        self.history_size = history_size
        self._logs = {room: RoomLog(history_size, self.epoch) for room in self.registry.rooms}
        self._clock = clock
        self.published = 0
        self.delivered = 0
        self.slow_closed = 0
        self.fanout_seconds = 0.0
        self.fanout_max_seconds = 0.0
        self.broker: Broker | None = None

    @property
    def rooms(self) -> tuple[str, ...]:
        return self.registry.rooms

    def log(self, room: str) -> RoomLog:
        """The numbered history of ``room``."""
        self.registry.check(room)
        return self._logs[room]

    def publish(self, room: str, kind: str, data: Any, *, now: float | None = None) -> int | None:
        """Send ``{type, room, data, timestamp, offset}`` to the room; return its offset (None
        with a broker: the broker numbers it)."""
        log = self.log(room)
        stamp = iso(self._clock() if now is None else now)
        if self.broker is not None:
            message = {"type": kind, "room": room, "data": data, "timestamp": stamp}
            self.broker.submit(room, json.dumps(message, separators=(",", ":")))
            self.published += 1
            return None
        offset = log.next_offset
        message = {"type": kind, "room": room, "data": data, "timestamp": stamp,
                   "offset": offset}
        out = Outbound(log.append(message, json.dumps(message, separators=(",", ":"))))
        self.published += 1
        self._fanout(room, out)
        return offset

    def relay(self, room: str, offset: int, text: str) -> None:
        """Deliver a numbered message from the broker (a duplicate offset is ignored)."""
        log = self.log(room)
        if offset < log.next_offset:
            return
        log.append_text(offset, text)
        self._fanout(room, Outbound(text))

    def reset_epoch(self, epoch: str) -> None:
        """The broker's history was lost: start every room's log again in a new epoch, and
        tell every subscriber (``history_gap``), since offsets now start over."""
        self.epoch = epoch
        self._logs = {room: RoomLog(self.history_size, epoch) for room in self.registry.rooms}
        for room in self.registry.rooms:
            gap = Outbound(json.dumps({
                "type": "error", "code": errors.HistoryGap.code,
                "message": "the room history was lost; offsets start over in a new epoch",
                "room": room, "epoch": epoch, "last_offset": 0,
                "timestamp": iso(self._clock())}, separators=(",", ":")))
            self._fanout(room, gap)

    def _fanout(self, room: str, out: Outbound) -> None:
        members = self.registry.members(room)
        if not members:
            return
        started = time.perf_counter()
        slow = [sub for sub in tuple(members) if not sub.deliver(out)]
        self.delivered += len(members) - len(slow)
        for sub in slow:
            self._drop_slow(sub)
        took = time.perf_counter() - started
        self.fanout_seconds += took
        self.fanout_max_seconds = max(self.fanout_max_seconds, took)

    def join(
        self, sub: Subscriber, room: str, since: int | None = None, epoch: str | None = None
    ) -> None:
        """Subscribe ``sub``; send it the missed messages after ``since``, else the snapshot."""
        log = self.log(room)
        self.registry.join(room, sub)
        texts: list[str] = []
        if since is not None:
            try:
                texts = log.since(since, epoch=epoch)
            except errors.HistoryGap as exc:
                texts = [json.dumps({
                    "type": "error", "code": exc.code, "message": exc.message, "room": room,
                    "since": since, "epoch": log.epoch, "last_offset": log.last_offset,
                    "timestamp": iso(self._clock()),
                }, separators=(",", ":"))]
                since = None
        if since is None:
            snapshot = log.snapshot()
            if snapshot is not None:
                texts.append(snapshot)
        for text in texts:
            if not sub.deliver(Outbound(text)):
                self._drop_slow(sub)
                return

    def leave(self, sub: Subscriber, room: str) -> None:
        """Unsubscribe ``sub`` from ``room`` (no error if it was not subscribed)."""
        self.registry.leave(room, sub)

    def leave_all(self, sub: Subscriber) -> None:
        """Unsubscribe ``sub`` from every room (when its connection closes)."""
        self.registry.leave_all(sub)

    def stats(self) -> dict[str, Any]:
        """Counters for ``/api/ws/stats``."""
        return {
            "epoch": self.epoch,
            "messages_published": self.published,
            "messages_delivered": self.delivered,
            "slow_closed": self.slow_closed,
            "fanout_seconds_total": round(self.fanout_seconds, 6),
            "fanout_seconds_max": round(self.fanout_max_seconds, 6),
            "rooms": {
                room: {"subscribers": count, "last_offset": self._logs[room].last_offset}
                for room, count in self.registry.counts().items()
            },
        }

    def _drop_slow(self, sub: Subscriber) -> None:
        self.registry.leave_all(sub)
        self.slow_closed += 1
        logger.warning("closing a subscriber that fell behind its outbound buffer")
        try:
            sub.close_slow()
        except Exception:
            logger.exception("closing a slow subscriber failed")
