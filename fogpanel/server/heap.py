"""Keep the cyclic garbage collector's full passes off the event loop's critical path.

Every open dashboard session holds tens of thousands of long-lived Python objects (Bokeh models,
Panel objects, param watchers). CPython's full (generation 2) collection walks all of them, and
updates keep producing a little cyclic garbage, so full passes come often: with 100 sessions we
measured passes of 0.5-1.7 s, each one a stall for every client of the process (loop lag p99
over a second). Objects that outlive a session build are moved to the permanent generation
(``gc.freeze``), which collections skip; when sessions close, one collection after a short
settle unfreezes, collects (reclaiming the closed sessions, and any garbage frozen with a
build) and freezes again.

Examples
--------
>>> calls = []
>>> heap = HeapFreezer(call_later=lambda delay, fn: calls.append((delay, fn)))
>>> heap.session_closed(); heap.session_closed()  # one collection per burst
>>> len(calls), calls[0][0]
(1, 5.0)
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from typing import Any

__all__ = ["HeapFreezer"]

logger = logging.getLogger("fogpanel.heap")


class HeapFreezer:
    """Freeze long-lived objects after session builds; collect them after sessions close."""

    def __init__(self, call_later: Callable[[float, Callable[[], None]], Any], *,
                 settle: float = 5.0) -> None:
        self._call_later = call_later
        self.settle = settle
        self._pending = False
        self.collections = 0
        self.last_collection_ms = 0.0

    def session_built(self) -> None:
        """A new session's objects are long-lived: collect the young generations (so their
        garbage is not frozen) and freeze the rest."""
        gc.collect(1)
        gc.freeze()

    def session_closed(self) -> None:
        """Schedule one unfreeze-collect-freeze after ``settle`` seconds (bursts of closing
        tabs share it)."""
        if not self._pending:
            self._pending = True
            self._call_later(self.settle, self.collect)

    def collect(self) -> None:
        """Reclaim everything unreachable, frozen or not, then freeze what is left."""
        self._pending = False
        started = time.perf_counter()
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self.collections += 1
        self.last_collection_ms = (time.perf_counter() - started) * 1000
        logger.debug("full collection %.0f ms", self.last_collection_ms)

    def count(self, kind: type) -> int:
        """Live objects of ``kind``, frozen ones included (``gc.get_objects`` skips the
        permanent generation); collects first, so only reachable ones are counted. It walks
        the whole heap: for leak checks, not for a hot path."""
        frozen = gc.get_freeze_count() > 0
        gc.unfreeze()
        gc.collect()
        try:
            return sum(1 for obj in gc.get_objects() if isinstance(obj, kind))
        finally:
            if frozen:
                gc.freeze()

    def stats(self) -> dict[str, Any]:
        return {"frozen_objects": gc.get_freeze_count(), "collections": self.collections,
                "last_collection_ms": round(self.last_collection_ms, 1)}
