"""Exactly one process runs the publishers, the simulator and the aggregator: a leader lease.

The lease is a Redis key holding the leader's id with a TTL. Every ``ttl / 3`` the leader
renews it (only if it still holds it, checked atomically in Lua) and the others try to take it
(``SET NX PX``). A leader that dies stops renewing, and another process takes over within
``ttl`` + ``ttl / 3``. A leader that cannot reach Redis steps down before its lease can have
expired, so two processes never publish at once; a leader that stops cleanly releases the key
and a successor takes over at its next attempt.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

__all__ = ["LeaderLease"]

logger = logging.getLogger("fogpanel.scale")

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

Callback = Callable[[], "Awaitable[Any] | Any"]


class LeaderLease:
    """Acquire, renew, lose and release leadership for one process."""

    def __init__(self, redis: aioredis.Redis, key: str, owner: str, *, ttl: float,
                 on_gain: Callback, on_loss: Callback) -> None:
        self.redis = redis
        self.key = key
        self.owner = owner
        self.ttl = ttl
        self.leader = False
        self.changes = 0
        self._on_gain = on_gain
        self._on_loss = on_loss
        self._renewed_at = 0.0
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    async def run(self) -> None:
        """Hold or seek the lease until cancelled."""
        while True:
            await self.check()
            await asyncio.sleep(self.ttl / 3)  # the lease's own cadence

    async def check(self) -> None:
        """One round: renew (leader) or try to acquire (follower)."""
        ms = int(self.ttl * 1000)
        try:
            if self.leader:
                if await self._renew(keys=[self.key], args=[self.owner, ms]):
                    self._renewed_at = time.monotonic()
                else:
                    await self._set(False, "the lease was taken over")
            elif await self.redis.set(self.key, self.owner, nx=True, px=ms):
                self._renewed_at = time.monotonic()
                await self._set(True, "lease acquired")
        except RedisError as exc:
            # Step down before the lease could have expired elsewhere (no double leader).
            if self.leader and time.monotonic() - self._renewed_at > self.ttl / 2:
                await self._set(False, f"Redis unreachable ({exc})")

    async def release(self) -> None:
        """Give the lease up (clean shutdown) so a successor need not wait for the TTL."""
        if self.leader:
            await self._set(False, "stopping")
            try:
                await self._release(keys=[self.key], args=[self.owner])
            except RedisError:
                logger.warning("could not release the leader lease; it expires by itself")

    async def _set(self, leader: bool, why: str) -> None:
        self.leader = leader
        self.changes += 1
        logger.info("%s leadership: %s", "gained" if leader else "lost", why)
        result = (self._on_gain if leader else self._on_loss)()
        if inspect.isawaitable(result):
            await result
