"""Time-bounded windows per metric: the last 1 minute, 5 minutes and hour, by time.

One buffer per series holds the samples of the longest window (timestamps and values in two
``array('d')``, 16 bytes a sample); shorter windows are suffixes found by bisection. Adding a
sample is O(1) amortised (append, drop expired samples from the front, compact now and then);
statistics are computed when asked (count, min, max, avg, median, stddev, p95), which happens
far less often than samples arrive.

Examples
--------
>>> w = SeriesWindows()
>>> for i in range(120):
...     w.add(float(i), now=float(i))
>>> s = w.stats("1m", now=119.0); s["count"], s["min"], s["max"], s["avg"]
(60, 60.0, 119.0, 89.5)
>>> w.stats("1h", now=119.0)["count"]
120
"""

from __future__ import annotations

import bisect
import math
from array import array
from typing import Any

__all__ = ["WINDOWS", "SeriesWindows", "summarise"]

WINDOWS = {"1m": 60.0, "5m": 300.0, "1h": 3600.0}


def summarise(values: list[float]) -> dict[str, Any]:
    """count, min, max, avg, median, stddev (population) and p95 of ``values``.

    >>> summarise([1.0, 2.0, 3.0, 4.0])["median"]
    2.5
    """
    n = len(values)
    if n == 0:
        return {"count": 0, "min": None, "max": None, "avg": None, "median": None,
                "stddev": None, "p95": None}
    ordered = sorted(values)
    avg = math.fsum(ordered) / n
    var = math.fsum((v - avg) ** 2 for v in ordered) / n
    mid = n // 2
    median = ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    # p95 by linear interpolation between closest ranks (numpy's default method).
    pos = 0.95 * (n - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    p95 = ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
    return {"count": n, "min": ordered[0], "max": ordered[-1], "avg": avg, "median": median,
            "stddev": math.sqrt(var), "p95": p95}


class SeriesWindows:
    """The samples of one series within the longest window."""

    __slots__ = ("_start", "_ts", "_vs", "span")

    def __init__(self, span: float = max(WINDOWS.values())) -> None:
        self.span = span
        self._ts = array("d")
        self._vs = array("d")
        self._start = 0

    def add(self, value: float, now: float) -> None:
        """Record ``value`` at time ``now`` (samples arrive in time order per series)."""
        self._ts.append(now)
        self._vs.append(value)
        self._expire(now)

    def _expire(self, now: float) -> None:
        cutoff = now - self.span
        ts = self._ts
        start = self._start
        while start < len(ts) and ts[start] <= cutoff:
            start += 1
        if start > 256 and start * 2 > len(ts):
            del ts[:start]
            del self._vs[:start]
            start = 0
        self._start = start

    def values(self, window: str, now: float) -> list[float]:
        """The values within ``window`` (``1m``, ``5m``, ``1h``) before ``now``."""
        span = WINDOWS[window]
        first = bisect.bisect_right(self._ts, now - span, lo=self._start)
        return self._vs[first:].tolist()

    def stats(self, window: str, now: float) -> dict[str, Any]:
        return summarise(self.values(window, now))

    def __len__(self) -> int:
        return len(self._ts) - self._start
