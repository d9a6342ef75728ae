"""Connections per user per minute, counted across every process (a sliding window in Redis).

Each user has a sorted set of connection times; one Lua script drops the ones older than the
window, counts the rest and, under the limit, records the new one, atomically, so two processes
admitting the same user at once cannot both slip past the limit. The answer is 0 (admit) or the
seconds until the oldest connection leaves the window.
"""

from __future__ import annotations

import secrets

import redis.asyncio as aioredis

__all__ = ["GlobalConnectionLimit"]

_HIT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[2])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
  redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 1)
  return '0'
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]
return tostring(oldest + ARGV[2] - ARGV[1])
"""


class GlobalConnectionLimit:
    """``limit`` new connections per user per ``window`` seconds, cluster-wide."""

    def __init__(self, redis: aioredis.Redis, prefix: str, limit: int,
                 window: float = 60.0) -> None:
        self.redis = redis
        self.prefix = prefix
        self.limit = limit
        self.window = window
        self._hit = redis.register_script(_HIT)

    async def hit(self, sub: str, now: float) -> float:
        """0 to admit ``sub`` now (and count it), else the seconds to wait."""
        wait = await self._hit(keys=[f"{self.prefix}:conn:{sub}"],
                               args=[now, self.window, self.limit, f"{now}:{secrets.token_hex(4)}"])
        return max(0.0, float(wait))
