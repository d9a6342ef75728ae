"""Event-loop lag: how late a short sleep wakes up, the best single health figure of a server.

The arithmetic is pure (:class:`LagWindow`); :func:`monitor` is the tiny asyncio task that
feeds it.

Examples
--------
>>> w = LagWindow(size=100)
>>> for lag in [0.001] * 98 + [0.05, 0.2]:
...     w.add(lag)
>>> w.percentile(0.99), w.max()
(0.05, 0.2)
"""

from __future__ import annotations

import asyncio
import math
from collections import deque

__all__ = ["LagWindow", "monitor"]


class LagWindow:
    """The last ``size`` lag samples (seconds)."""

    def __init__(self, size: int = 240) -> None:
        self._samples: deque[float] = deque(maxlen=size)

    def add(self, lag: float) -> None:
        self._samples.append(max(0.0, lag))

    def percentile(self, q: float) -> float:
        if not self._samples:
            return 0.0
        ordered = sorted(self._samples)
        # Nearest rank: the smallest sample with at least q of all samples at or below it.
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    def max(self) -> float:
        return max(self._samples, default=0.0)

    def stats(self) -> dict[str, float]:
        return {"p50_ms": round(self.percentile(0.5) * 1000, 2),
                "p99_ms": round(self.percentile(0.99) * 1000, 2),
                "max_ms": round(self.max() * 1000, 2), "samples": len(self._samples)}


async def monitor(window: LagWindow, interval: float = 0.25) -> None:
    """Measure how late ``asyncio.sleep(interval)`` returns, forever."""
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        await asyncio.sleep(interval)
        window.add(loop.time() - started - interval)
