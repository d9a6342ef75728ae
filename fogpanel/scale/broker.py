"""Room messages through Redis Streams: published once, numbered once, relayed everywhere.

Every process's hub hands its publications to :meth:`RedisBroker.submit`; a writer task sends
them to Redis, where one Lua script numbers each message with the room's counter and appends it
to the room's stream (bounded with ``MAXLEN ~ history_size``) under the ID ``<offset>-0``. A
relay task in every process reads all room streams (``XREAD BLOCK``) and gives each message
back to the local hub (:meth:`fogpanel.hub.Hub.relay`), so every process delivers the same
messages with the same offsets in the same order, and ``since`` catch-up works against any
process, also after a restart (the history lives in Redis).

The epoch is a Redis key created once (``SET NX``). When Redis loses its data (restarted without
persistence), the key is gone: the first process to notice sets a new one and every process
restarts its room logs in the new epoch, so clients asking with the old epoch get
``history_gap``.

While Redis is unreachable, publications wait in a bounded queue (oldest dropped, counted),
local clients keep what they have, and both tasks retry with capped exponential backoff; the
outage is reported in :meth:`stats`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import deque
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from fogpanel.backoff import Backoff, BackoffPolicy
from fogpanel.hub import Hub

__all__ = ["RETRY", "RedisBroker", "stream_text"]

logger = logging.getLogger("fogpanel.scale")

_PUBLISH = """
local offset = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], offset .. '-0', 'm', ARGV[1])
return offset
"""
# Retries while Redis is away: 0.1 s doubling to 5 s, jittered so processes spread out.
RETRY = BackoffPolicy(initial=0.1, maximum=5.0)
_QUEUE_LIMIT = 10_000
_BATCH = 200
# A blocking read returns after this long even when nothing arrived, so the relay notices a
# stop request without being cancelled mid-read (redis-py does not survive that cleanly).
_BLOCK_MS = 500


def stream_text(text: str, offset: int) -> str:
    """The message as clients see it: the stored JSON (no offset) with its offset appended.

    >>> stream_text('{"type":"x","room":"nodes"}', 7)
    '{"type":"x","room":"nodes","offset":7}'
    """
    return f'{text[:-1]},"offset":{offset}}}'


class RedisBroker:
    """One process's link to the shared room history in Redis."""

    def __init__(self, url: str, hub: Hub, *, prefix: str = "fogpanel",
                 retry: BackoffPolicy = RETRY) -> None:
        self.url = url
        self.hub = hub
        self.prefix = prefix
        self.retry = retry
        self.redis: aioredis.Redis = aioredis.from_url(url, decode_responses=True,
                                                       socket_connect_timeout=2.0)
        self._relay_conn: aioredis.Redis = aioredis.from_url(url, decode_responses=True,
                                                             socket_connect_timeout=2.0)
        self._script = self.redis.register_script(_PUBLISH)
        self._queue: deque[tuple[str, str]] = deque()
        self._wakeup = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.dropped = 0
        self.submitted = 0
        self.written = 0
        self.relayed = 0
        self.connected = False
        self.started = False  # the history is loaded: from then on the process serves clients
        self.outages = 0
        self.failed_attempts = 0  # reads and writes that failed: the retries of an outage
        self.last_error: str | None = None
        self.outage_since: float | None = None

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Take the epoch and the kept history from Redis, then start relaying and writing.

        Raises ``RedisError`` when Redis cannot be reached at start (a misconfiguration is
        better reported than waited out)."""
        await self._sync_epoch()
        await self._load_history()
        self.connected = self.started = True
        self.hub.broker = self
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._write_loop()), loop.create_task(self._relay_loop())]

    async def stop(self) -> None:
        """Let both loops finish their current round (a blocking read lasts at most
        ``_BLOCK_MS``), then close the connections."""
        self._stopping = True
        self._wakeup.set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=_BLOCK_MS / 1000 + 2.0)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=2.0)
        self._tasks = []
        self.hub.broker = None
        await self.redis.aclose()
        await self._relay_conn.aclose()

    # -- publishing -----------------------------------------------------------------------------

    def submit(self, room: str, text: str) -> None:
        """Queue a publication (from :meth:`Hub.publish`); the writer sends it in order."""
        if len(self._queue) >= _QUEUE_LIMIT:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append((room, text))
        self.submitted += 1
        self._wakeup.set()

    async def _write_loop(self) -> None:
        backoff = Backoff(self.retry)
        while not self._stopping:
            if not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = [self._queue[i] for i in range(min(_BATCH, len(self._queue)))]
            try:
                pipe = self.redis.pipeline(transaction=False)
                for room, text in batch:
                    await self._script(keys=[self.key("seq", room), self.key("room", room)],
                                       args=[text, self.hub.history_size], client=pipe)
                await pipe.execute()
            except RedisError as exc:
                await self._after_failure(exc, backoff)
                continue
            backoff.reset()
            for _ in batch:
                self._queue.popleft()
            self.written += len(batch)

    # -- relaying -------------------------------------------------------------------------------

    async def _relay_loop(self) -> None:
        backoff = Backoff(self.retry)
        while not self._stopping:
            try:
                if not self.connected:
                    await self._sync_epoch()
                    self._recovered()
                streams = {self.key("room", room): f"{self.hub.log(room).last_offset}-0"
                           for room in self.hub.rooms}
                answer = await self._relay_conn.xread(streams, count=500, block=_BLOCK_MS)
            except RedisError as exc:
                await self._after_failure(exc, backoff)
                continue
            backoff.reset()
            for stream, entries in answer or ():
                room = stream.rsplit(":", 1)[1]
                for entry_id, fields in entries:
                    offset = int(entry_id.split("-", 1)[0])
                    self.hub.relay(room, offset, stream_text(fields["m"], offset))
                    self.relayed += 1

    async def _after_failure(self, exc: RedisError, backoff: Backoff) -> None:
        """A read or write failed: count the outage (unless stopping) and wait out the backoff;
        the loops then check ``_stopping`` again."""
        if self._stopping:
            return
        self._outage(exc)
        await asyncio.sleep(backoff.next_delay() or 0.0)  # backoff while Redis is away

    async def _sync_epoch(self) -> None:
        """Adopt Redis's epoch, creating it when there is none (a new or emptied Redis)."""
        await self.redis.set(self.key("epoch"), secrets.token_hex(4), nx=True)
        epoch = await self.redis.get(self.key("epoch"))
        if epoch is not None and epoch != self.hub.epoch:
            logger.info("room history epoch is now %s", epoch)
            self.hub.reset_epoch(epoch)

    async def _load_history(self) -> None:
        """Fill the local room logs with what Redis still keeps (newest ``history_size``)."""
        for room in self.hub.rooms:
            entries = await self.redis.xrevrange(self.key("room", room),
                                                 count=self.hub.history_size)
            for entry_id, fields in reversed(entries):
                offset = int(entry_id.split("-", 1)[0])
                self.hub.relay(room, offset, stream_text(fields["m"], offset))

    def _outage(self, exc: Exception) -> None:
        self.failed_attempts += 1
        if self.connected:
            self.connected = False
            self.outages += 1
            self.outage_since = time.time()
            logger.warning("Redis unreachable (%s); serving local clients what they have", exc)
        self.last_error = f"{type(exc).__name__}: {exc}"

    def _recovered(self) -> None:
        self.connected = True
        self.outage_since = None
        logger.info("Redis reachable again")

    def stats(self) -> dict[str, Any]:
        return {"connected": self.connected, "outages": self.outages,
                "failed_attempts": self.failed_attempts,
                "outage_since": self.outage_since, "last_error": self.last_error,
                "submitted": self.submitted, "written": self.written, "relayed": self.relayed,
                "queued": len(self._queue), "dropped": self.dropped}
