"""Agents' reports reach the leader whichever process they were sent to.

A follower validates a report batch, appends it to the ``ingest`` stream in Redis and answers
the agent once Redis has it (if Redis is unreachable the agent gets 503 and retries; nothing is
half-accepted). The leader consumes the stream from the last entry any leader finished
(``ingest:done``, advanced after each batch is recorded), so a failover neither loses nor
replays batches beyond the one in progress.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from fogpanel.backoff import Backoff
from fogpanel.scale.broker import RETRY
from fogpanel.sources.ingest import Report

__all__ = ["IngestRelay"]

logger = logging.getLogger("fogpanel.scale")

Apply = Callable[[list[Report], str], Awaitable[None]]
_BLOCK_MS = 500
_MAXLEN = 100_000


class IngestRelay:
    """Forward (followers) and consume (the leader) agent report batches."""

    def __init__(self, redis: aioredis.Redis, prefix: str, apply: Apply) -> None:
        self.redis = redis
        self.stream = f"{prefix}:ingest"
        self.done_key = f"{prefix}:ingest:done"
        self._apply = apply
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.forwarded = 0
        self.consumed = 0

    async def forward(self, reports: list[Report], reported_by: str) -> None:
        """Hand a validated batch to the leader (raises ``RedisError`` if Redis is away)."""
        batch = {"by": reported_by, "reports": [dataclasses.asdict(r) for r in reports]}
        await self.redis.xadd(self.stream, {"b": json.dumps(batch)}, maxlen=_MAXLEN,
                              approximate=True)
        self.forwarded += 1

    def start(self) -> None:
        """Start consuming (on gaining leadership)."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.get_running_loop().create_task(self._consume())

    async def stop(self) -> None:
        """Stop consuming after the current round (on losing leadership or shutting down)."""
        self._stopping = True
        if self._task is not None:
            _, pending = await asyncio.wait([self._task], timeout=_BLOCK_MS / 1000 + 2.0)
            for task in pending:
                task.cancel()
            self._task = None

    async def _consume(self) -> None:
        backoff = Backoff(RETRY)
        while not self._stopping:
            try:
                last = await self.redis.get(self.done_key) or "0-0"
                answer = await self.redis.xread({self.stream: last}, count=100,
                                                block=_BLOCK_MS)
                for _stream, entries in answer or ():
                    for entry_id, fields in entries:
                        batch = json.loads(fields["b"])
                        await self._apply([Report(**r) for r in batch["reports"]], batch["by"])
                        await self.redis.set(self.done_key, entry_id)
                        self.consumed += 1
                backoff.reset()
            except RedisError as exc:
                if self._stopping:
                    return
                logger.warning("ingest relay: Redis unreachable (%s)", exc)
                await asyncio.sleep(backoff.next_delay() or 0.0)  # backoff while Redis is away
