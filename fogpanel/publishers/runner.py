"""The publisher runner: paces each publisher by the clock, survives errors, keeps stats.

A publisher is a name, a room, an interval and a ``produce(now)`` function returning the
messages to publish now (possibly none: topology publishes only on change, alerts only when
there are some). Ticks are scheduled at ``start + k * interval`` so the cadence does not drift
with the time each tick takes; a tick that is late by more than an interval skips to the next
slot instead of bursting. ``clock`` and ``sleep`` are injectable, so a test runs ticks instantly.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fogpanel.hub import Hub
from fogpanel.protocol.messages import iso

__all__ = ["Publisher", "PublisherRunner", "next_tick"]

logger = logging.getLogger("fogpanel.publishers")

Produce = Callable[[float], list[tuple[str, Any]]]


def next_tick(start: float, interval: float, now: float) -> float:
    """The first slot ``start + k * interval`` strictly after ``now``.

    >>> next_tick(0.0, 5.0, 12.3), next_tick(0.0, 5.0, 15.0)
    (15.0, 20.0)
    """
    return start + (math.floor((now - start) / interval) + 1) * interval


@dataclass
class Publisher:
    """One paced producer of room messages."""

    name: str
    room: str
    interval: float
    produce: Produce
    count: int = 0
    errors: int = 0
    last_publish: float | None = None
    last_error: str | None = None
    ticks: int = field(default=0)

    def stats(self) -> dict[str, Any]:
        return {"room": self.room, "interval": self.interval, "count": self.count,
                "errors": self.errors, "ticks": self.ticks,
                "last_publish": iso(self.last_publish) if self.last_publish else None,
                "last_error": self.last_error}


class PublisherRunner:
    """Runs publishers as asyncio tasks on the current loop."""

    def __init__(
        self,
        hub: Hub,
        publishers: list[Publisher],
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.hub = hub
        self.publishers = publishers
        self._clock = clock
        self._sleep = sleep
        self._tasks: list[asyncio.Task[None]] = []

    def tick(self, pub: Publisher, now: float) -> None:
        """Run one tick of ``pub``: produce and publish; log and count errors, never raise."""
        pub.ticks += 1
        try:
            messages = pub.produce(now)
        except Exception as exc:
            pub.errors += 1
            pub.last_error = type(exc).__name__
            logger.error("publisher %s failed; it keeps running", pub.name, exc_info=True)
            return
        for kind, data in messages:
            self.hub.publish(pub.room, kind, data, now=now)
            pub.count += 1
            pub.last_publish = now

    async def run(self, pub: Publisher, *, ticks: int | None = None) -> None:
        """Tick ``pub`` at its cadence (``ticks`` times, or until cancelled)."""
        start = self._clock()
        n = 0
        while ticks is None or n < ticks:
            self.tick(pub, self._clock())
            n += 1
            delay = next_tick(start, pub.interval, self._clock()) - self._clock()
            await self._sleep(max(0.0, delay))

    def start(self) -> None:
        if self._tasks:
            return
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self.run(p), name=f"publisher-{p.name}")
                       for p in self.publishers]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    def stats(self) -> dict[str, Any]:
        return {p.name: p.stats() for p in self.publishers}
