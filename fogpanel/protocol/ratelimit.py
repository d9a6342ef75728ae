"""Rate limiting arithmetic: a token bucket per connection, a sliding window per user.

Both take ``now`` as a parameter and never read a clock, so they are tested with fixed numbers.
"""

from __future__ import annotations

__all__ = ["SlidingWindow", "TokenBucket"]


class TokenBucket:
    """Allows ``rate`` events per second on average and bursts of up to ``burst``.

    Examples
    --------
    >>> b = TokenBucket(rate=2, burst=2, now=0.0)
    >>> [b.take(0.0), b.take(0.0), b.take(0.0), b.take(0.5)]
    [True, True, False, True]
    """

    __slots__ = ("_burst", "_rate", "_stamp", "_tokens")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self._rate = float(rate)
        self._burst = float(burst)
        self._tokens = float(burst)
        self._stamp = now

    def take(self, now: float) -> bool:
        """Spend one token if there is one; refill first for the time since the last call."""
        elapsed = now - self._stamp
        if elapsed > 0:
            self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
            self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class SlidingWindow:
    """At most ``limit`` events per key within any ``window`` seconds.

    Keeps one short list of timestamps per key (at most ``limit`` long: a list is ~5x smaller than
    a deque at these sizes, and there is one per recently connected user) and forgets keys whose
    window emptied, so memory follows the number of recently active keys, not all keys ever seen.

    Examples
    --------
    >>> w = SlidingWindow(limit=2, window=60.0)
    >>> [w.hit("ada", 0.0), w.hit("ada", 1.0), w.hit("ada", 2.0)]
    [0.0, 0.0, 58.0]
    >>> w.hit("ada", 60.5)
    0.0
    """

    def __init__(self, limit: int, window: float) -> None:
        self._limit = limit
        self._window = window
        self._hits: dict[str, list[float]] = {}
        self._next_sweep = 0.0

    def hit(self, key: str, now: float) -> float:
        """Record an event; return 0 if allowed, else seconds until one would be (not recorded)."""
        if now >= self._next_sweep:
            self._sweep(now)
        hits = self._hits.setdefault(key, [])
        cutoff = now - self._window
        if hits and hits[0] <= cutoff:
            hits[:] = [t for t in hits if t > cutoff]
        if len(hits) >= self._limit:
            return max(hits[0] + self._window - now, 0.001)
        hits.append(now)
        return 0.0

    def __len__(self) -> int:
        return len(self._hits)

    def _sweep(self, now: float) -> None:
        cutoff = now - self._window
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= cutoff]:
            del self._hits[key]
        self._next_sweep = now + self._window
