"""Messages sent while disconnected wait here, bounded, oldest dropped first.

Pings are never queued (a ping from the past proves nothing), and the queue is bounded so a
client that stays offline for hours does not grow without limit; ``dropped`` counts the
casualties.

Examples
--------
>>> box = Outbox(2)
>>> [box.put({"type": t}) for t in ("a", "ping", "b", "c")]
[True, False, True, True]
>>> [m["type"] for m in box.drain()], box.dropped
(['b', 'c'], 1)
"""

from __future__ import annotations

from collections import deque
from typing import Any

__all__ = ["Outbox"]

_NEVER_QUEUED = frozenset({"ping", "pong"})


class Outbox:
    """A bounded drop-oldest queue of outbound messages."""

    def __init__(self, size: int) -> None:
        if size < 0:
            raise ValueError("queue size must be >= 0")
        self._items: deque[dict[str, Any]] = deque(maxlen=size)
        self.dropped = 0

    def put(self, message: dict[str, Any]) -> bool:
        """Queue ``message``; False when it is a kind that is never queued."""
        if message.get("type") in _NEVER_QUEUED:
            return False
        if self._items.maxlen == len(self._items):
            self.dropped += 1
        self._items.append(message)
        return True

    def drain(self) -> list[dict[str, Any]]:
        """Everything queued, oldest first; the queue is empty afterwards."""
        items = list(self._items)
        self._items.clear()
        return items

    def __len__(self) -> int:
        return len(self._items)
