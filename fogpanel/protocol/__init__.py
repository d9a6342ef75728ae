"""The pure core of the WebSocket API: no asyncio, no Tornado, time passed in.

``messages`` parses and builds frames, ``auth`` checks JWTs, ``ratelimit`` and ``heartbeat`` do
the timing arithmetic, ``rooms`` keeps membership and numbered history, and ``session`` ties them
into the per-connection state machine that the Tornado handler drives.
"""

from __future__ import annotations

__all__: list[str] = []
