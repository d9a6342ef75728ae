"""Retry delays: exponential backoff with full jitter.

Full jitter (a uniform delay between zero and the exponential ceiling) is what spreads a crowd
that lost the same peer at the same moment (clients and their server, server processes and
Redis): with plain exponential backoff they would all come back together, attempt after
attempt. Pure: the random source is a parameter, so the schedule is tested without waiting.
Used by :class:`fogpanel.client.FogClient` and by the Redis loops in :mod:`fogpanel.scale`.

Examples
--------
>>> policy = BackoffPolicy(initial=1.0, maximum=8.0, factor=2.0, max_attempts=5)
>>> [policy.ceiling(n) for n in range(5)]
[1.0, 2.0, 4.0, 8.0, 8.0]
>>> b = Backoff(policy, rng=random.Random(7))
>>> delays = [b.next_delay() for _ in range(6)]
>>> all(0 <= d <= policy.ceiling(n) for n, d in enumerate(delays[:5])), delays[5]
(True, None)
>>> b.reset(); b.attempts
0
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Backoff", "BackoffPolicy"]


@dataclass(frozen=True)
class BackoffPolicy:
    """How to wait between attempts.

    ``max_attempts`` bounds consecutive failed attempts (``None``: keep trying, for transient
    failures); a connection that stayed up ``stable_after`` seconds resets the schedule.
    """

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    max_attempts: int | None = None
    stable_after: float = 10.0

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.maximum < self.initial or self.factor < 1:
            raise ValueError("backoff needs 0 < initial <= maximum and factor >= 1")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1 (or None)")

    def ceiling(self, attempt: int) -> float:
        """The largest delay before retry number ``attempt`` (0-based)."""
        return min(self.maximum, self.initial * self.factor ** min(attempt, 64))


class Backoff:
    """The running schedule of one retrying loop."""

    def __init__(self, policy: BackoffPolicy, rng: random.Random | None = None) -> None:
        self.policy = policy
        self.attempts = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float | None:
        """The delay before the next attempt, or ``None`` when the attempts are used up."""
        limit = self.policy.max_attempts
        if limit is not None and self.attempts >= limit:
            return None
        delay = self._rng.uniform(0.0, self.policy.ceiling(self.attempts))
        self.attempts += 1
        return delay

    def reset(self) -> None:
        """Start again from the initial delay (after a stable connection)."""
        self.attempts = 0
