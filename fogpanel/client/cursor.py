"""Where a client is in each room: the rooms it wants, the last offset seen, the epoch.

On every (re)connection the client subscribes with ``since`` (and the epoch those offsets
belong to), so the server sends exactly what was missed; a message at or below the last offset
seen is a duplicate and is dropped; after a ``history_gap`` the room starts over from the
snapshot that follows.

Examples
--------
>>> c = RoomCursor(["nodes", "tasks"])
>>> c.subscribe_message()
{'type': 'subscribe', 'rooms': ['nodes', 'tasks']}
>>> c.established("e1"); c.accept("nodes", 4), c.accept("nodes", 4), c.accept("nodes", 5)
(True, False, True)
>>> c.subscribe_message()
{'type': 'subscribe', 'rooms': ['nodes', 'tasks'], 'since': {'nodes': 5}, 'epoch': 'e1'}
>>> c.gap("nodes", "e2"); c.accept("nodes", 1)
True
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["RoomCursor"]


class RoomCursor:
    """Rooms, last offsets and epoch for one client."""

    def __init__(self, rooms: Iterable[str] = ()) -> None:
        self.rooms: list[str] = list(dict.fromkeys(rooms))
        self.offsets: dict[str, int] = {}
        self.epoch: str | None = None

    def add(self, rooms: Iterable[str]) -> list[str]:
        """Remember ``rooms``; return the ones that are new."""
        new = [r for r in dict.fromkeys(rooms) if r not in self.rooms]
        self.rooms.extend(new)
        return new

    def remove(self, rooms: Iterable[str]) -> None:
        gone = set(rooms)
        self.rooms = [r for r in self.rooms if r not in gone]
        for room in gone:
            self.offsets.pop(room, None)

    def subscribe_message(self, rooms: Iterable[str] | None = None) -> dict[str, Any]:
        """The ``subscribe`` for ``rooms`` (default all), with ``since`` where known."""
        wanted = list(self.rooms if rooms is None else rooms)
        message: dict[str, Any] = {"type": "subscribe", "rooms": wanted}
        since = {r: self.offsets[r] for r in wanted if r in self.offsets}
        if since:
            message["since"] = since
            if self.epoch is not None:
                message["epoch"] = self.epoch
        return message

    def established(self, epoch: str | None) -> None:
        """The server's epoch at connection. Offsets are kept even when it changed: the
        ``subscribe`` carries the old epoch, and the server answers with ``history_gap``."""
        if self.epoch is None:
            self.epoch = epoch

    def accept(self, room: str, offset: int) -> bool:
        """Record a room message; False when it was already seen (a duplicate)."""
        last = self.offsets.get(room)
        if last is not None and offset <= last:
            return False
        self.offsets[room] = offset
        return True

    def gap(self, room: str, epoch: str | None) -> None:
        """The server could not replay ``room``: start it over at the snapshot."""
        self.offsets.pop(room, None)
        if epoch is not None:
            self.epoch = epoch
