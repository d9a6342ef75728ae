"""Room membership and numbered room history, as plain data structures.

:class:`RoomRegistry` maps rooms to members and back, so joining, leaving and "leave everything
when the connection closes" are O(1) per room and testable without a server. :class:`RoomLog`
numbers each room's messages (``offset``) within an ``epoch`` (a random id per process start, so a
client holding offsets from a previous server life learns they mean nothing), keeps the latest
message for snapshots and a bounded history for catch-up.

Examples
--------
>>> reg = RoomRegistry(["nodes", "tasks"])
>>> reg.join("nodes", "c1"), reg.join("nodes", "c2"), reg.join("nodes", "c2")
(True, True, False)
>>> reg.leave_all("c1")
('nodes',)
>>> sorted(reg.members("nodes"))
['c2']
>>> log = RoomLog(size=2, epoch="e1")
>>> for i in range(3):
...     _ = log.append({"type": "tick", "room": "nodes", "data": i, "offset": log.next_offset})
>>> [json.loads(t)["data"] for t in log.since(1, epoch="e1")]
[1, 2]
>>> log.since(0, epoch="e1")
Traceback (most recent call last):
...
fogpanel.errors.HistoryGap: messages after offset 0 are no longer kept
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Hashable, Iterable
from typing import Any, Generic, TypeVar

from fogpanel.errors import HistoryGap, UnknownRoom

__all__ = ["RoomLog", "RoomRegistry"]

M = TypeVar("M", bound=Hashable)


class RoomRegistry(Generic[M]):
    """Which members are in which rooms, for a fixed set of room names."""

    def __init__(self, rooms: Iterable[str]) -> None:
        self._members: dict[str, set[M]] = {room: set() for room in rooms}
        self._rooms_of: dict[M, set[str]] = {}
        self.room_set = frozenset(self._members)

    @property
    def rooms(self) -> tuple[str, ...]:
        """The room names, in the configured order."""
        return tuple(self._members)

    def check(self, room: str) -> None:
        """Raise :class:`UnknownRoom` unless ``room`` exists."""
        if room not in self._members:
            raise UnknownRoom(f"unknown room {room!r}")

    def join(self, room: str, member: M) -> bool:
        """Add ``member`` to ``room``; return False if it was already there."""
        self.check(room)
        members = self._members[room]
        if member in members:
            return False
        members.add(member)
        self._rooms_of.setdefault(member, set()).add(room)
        return True

    def leave(self, room: str, member: M) -> bool:
        """Remove ``member`` from ``room``; return False if it was not there."""
        self.check(room)
        members = self._members[room]
        if member not in members:
            return False
        members.discard(member)
        rooms = self._rooms_of.get(member)
        if rooms is not None:
            rooms.discard(room)
            if not rooms:
                del self._rooms_of[member]
        return True

    def leave_all(self, member: M) -> tuple[str, ...]:
        """Remove ``member`` from every room; return the rooms it left."""
        rooms = self._rooms_of.pop(member, set())
        for room in rooms:
            self._members[room].discard(member)
        return tuple(rooms)

    def members(self, room: str) -> set[M]:
        """The live member set of ``room`` (do not mutate; copy before awaiting)."""
        self.check(room)
        return self._members[room]

    def rooms_of(self, member: M) -> frozenset[str]:
        """The rooms ``member`` is in."""
        return frozenset(self._rooms_of.get(member, ()))

    def counts(self) -> dict[str, int]:
        """Subscriber count per room."""
        return {room: len(members) for room, members in self._members.items()}


class RoomLog:
    """Offsets, the latest message and a bounded history (as sent texts) for one room."""

    def __init__(self, size: int, epoch: str) -> None:
        self.epoch = epoch
        self.next_offset = 1
        self._history: deque[tuple[int, str]] = deque(maxlen=size)
        self._latest: dict[str, Any] | None = None
        self._latest_text: str | None = None
        self._snapshot: str | None = None

    def append_text(self, offset: int, text: str) -> None:
        """Record an already numbered message (relayed from a broker, which assigns offsets).

        An offset beyond :attr:`next_offset` means messages in between will never arrive here:
        the history restarts at ``offset`` (``since`` into the lost part gets ``history_gap``).
        """
        if offset < self.next_offset:
            raise ValueError("offset already recorded")
        if offset > self.next_offset:
            self._history.clear()
        self._history.append((offset, text))
        self._latest = None
        self._latest_text = text
        self._snapshot = None
        self.next_offset = offset + 1

    def append(self, message: dict[str, Any], text: str | None = None) -> str:
        """Record ``message`` (whose ``offset`` must be :attr:`next_offset`); return its text."""
        offset = message.get("offset")
        if offset != self.next_offset:
            raise ValueError("message offset must equal next_offset")
        if text is None:
            text = json.dumps(message, separators=(",", ":"))
        self._history.append((offset, text))
        self._latest = message
        self._latest_text = text
        self._snapshot = None
        self.next_offset += 1
        return text

    @property
    def last_offset(self) -> int:
        """The offset of the latest message (0 before the first)."""
        return self.next_offset - 1

    def snapshot(self) -> str | None:
        """The latest message marked ``"snapshot": true``, serialised once and cached."""
        if self._snapshot is None:
            if self._latest is not None:
                self._snapshot = json.dumps({**self._latest, "snapshot": True},
                                            separators=(",", ":"))
            elif self._latest_text is not None:  # relayed: only the text is at hand
                self._snapshot = self._latest_text[:-1] + ',"snapshot":true}'
        return self._snapshot

    def recent(self, n: int) -> list[str]:
        """The texts of the last ``n`` messages kept, oldest first."""
        return [text for _, text in list(self._history)[-n:]] if n > 0 else []

    def since(self, offset: int, *, epoch: str | None) -> list[str]:
        """The texts of the messages after ``offset``; :class:`HistoryGap` if some are gone."""
        if epoch is not None and epoch != self.epoch:
            raise HistoryGap(f"epoch {epoch!r} is not the current one; offsets do not apply")
        if offset > self.last_offset:
            raise HistoryGap(f"offset {offset} is ahead of this room's history")
        if offset == self.last_offset:
            return []
        oldest = self._history[0][0] if self._history else self.next_offset
        if offset + 1 < oldest:
            raise HistoryGap(f"messages after offset {offset} are no longer kept")
        return [text for _, text in list(self._history)[offset + 1 - oldest:]]
