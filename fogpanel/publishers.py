"""Publishers: paced producers of room messages.

Until the data-sources issue lands, the only publisher is a *demo* one that sends clearly
labelled placeholder messages (``"demo": true``) to every room, so clients and the dashboard can
be exercised end to end. It is on by default and off with ``FOGPANEL_DEMO_PUBLISHER=0``.

The runner is generic: ``run_every(interval, step, sleep=...)`` calls ``step`` at its cadence,
logs and survives exceptions, and takes an injectable ``sleep`` so a test runs many ticks at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fogpanel.config import Settings
from fogpanel.hub import Hub

__all__ = ["demo_payload", "run_every", "start_publishers"]

logger = logging.getLogger("fogpanel.publishers")

_DEMO_TYPES = {
    "nodes": "node_status_update",
    "tasks": "task_progress_update",
    "metrics": "metrics_update",
    "alerts": "alert",
    "resources": "resource_update",
    "topology": "topology_change",
}


def demo_payload(room: str, sequence: int) -> tuple[str, dict[str, Any]]:
    """The placeholder message type and data for ``room`` at tick ``sequence``."""
    return _DEMO_TYPES.get(room, "update"), {"demo": True, "sequence": sequence}


async def run_every(
    interval: float,
    step: Callable[[int], None],
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ticks: int | None = None,
) -> None:
    """Call ``step(n)`` every ``interval`` seconds (``ticks`` times, or forever)."""
    n = 0
    while ticks is None or n < ticks:
        try:
            step(n)
        except Exception:
            logger.error("publisher step failed; continuing", exc_info=True)
        n += 1
        await sleep(interval)


def start_publishers(hub: Hub, settings: Settings) -> list[asyncio.Task[None]]:
    """Start this process's publishers on the running loop."""
    tasks: list[asyncio.Task[None]] = []
    if settings.demo_publisher:
        def step(n: int) -> None:
            for room in hub.rooms:
                kind, data = demo_payload(room, n)
                hub.publish(room, kind, data)

        tasks.append(asyncio.get_running_loop().create_task(
            run_every(settings.demo_interval, step), name="fogpanel-demo-publisher"))
    return tasks
