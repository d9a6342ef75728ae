"""The per-session feed: hub messages → one document-locked update per tick.

Each dashboard session subscribes a :class:`SessionFeed` to the hub. Delivery only appends the
message (parsed once for every session) to a bounded buffer; the first message after a flush
schedules one callback on the session's document, at a random delay within ``jitter_ms`` (2 s):
every room's tick reaches all sessions at the same instant, and spreading their updates keeps
the loop responsive. An alert is applied sooner, within :func:`urgent_spread_ms`: 200 ms for a
few sessions, growing by 10 ms per open session up to 1.5 s. An alert reaches every session at
once, and each session's flush takes a few ms: 150 of them within 200 ms stalled the loop for
up to 0.66 s (``bench/sessions.py`` with incidents). The callback applies
everything buffered inside ``pn.io.hold(doc)`` (one Bokeh patch per tick, under the document
lock). When the session ends the feed leaves every room, so a closed tab leaves no subscriber
and no Document behind.
"""

from __future__ import annotations

import logging
import random
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import panel as pn

from fogpanel.dashboard.state import DashboardState
from fogpanel.hub import Hub, Outbound

__all__ = ["SessionFeed"]

logger = logging.getLogger("fogpanel.dashboard")

_URGENT_ROOMS = frozenset({"alerts"})
URGENT_MS_PER_FEED = 10
URGENT_MAX_MS = 1500
_BUFFER = 2000  # messages; a session that falls this far behind is cut off (like a slow socket)


def urgent_spread_ms(feeds: int, floor_ms: int = 200) -> int:
    """The window an alert's flushes are spread over when ``feeds`` sessions are open: room for
    every session's flush (~a few ms each), so the loop never runs them back to back.

    >>> urgent_spread_ms(1), urgent_spread_ms(100), urgent_spread_ms(1000)
    (200, 1000, 1500)
    """
    return max(floor_ms, min(URGENT_MAX_MS, feeds * URGENT_MS_PER_FEED))


class SessionFeed:
    """Hub subscriber for one dashboard session."""

    live = 0  # open feeds in this process (for stats and the leak test)

    def __init__(self, hub: Hub, state: DashboardState, doc: Any | None, *,
                 jitter_ms: int = 2000, urgent_ms: int = 200,
                 rng: random.Random | None = None) -> None:
        self.hub = hub
        self.state = state
        self.doc = doc
        self.jitter_ms = jitter_ms
        self.urgent_ms = urgent_ms
        self._rng = rng or random.Random()
        self._buffer: deque[Outbound] = deque()
        self._scheduled = False
        self._urgent = False
        self.started = False
        self.closed = False

    def start(self, rooms: Iterable[str]) -> None:
        """Join ``rooms`` (each sends its snapshot at once)."""
        if self.started or self.closed:
            return
        self.started = True
        SessionFeed.live += 1
        for room in rooms:
            if room in self.hub.registry.room_set:
                self.hub.join(self, room)

    def start_when(self, ready: Callable[[], bool], rooms: Iterable[str],
                   every_ms: int = 250) -> None:
        """Join ``rooms`` once ``ready()``, checking every ``every_ms`` on the document.

        A process under Redis scale-out first loads the room history from Redis (API clients
        get 503 ``joining`` meanwhile): a session joined before that would receive the loaded
        history as live updates (old critical alerts notified as new, old points appended).
        """
        rooms = list(rooms)
        doc = self.doc
        if doc is None or ready():
            self.start(rooms)
            return

        def check() -> None:
            if self.closed or ready():
                doc.remove_periodic_callback(waiting)
                self.start(rooms)

        waiting = doc.add_periodic_callback(check, every_ms)

    def stop(self) -> None:
        """Leave every room; called when the session is destroyed."""
        if not self.closed:
            self.closed = True
            if self.started:
                SessionFeed.live -= 1
            self.hub.leave_all(self)
            self._buffer.clear()
            self.doc = None

    # -- hub subscriber ---------------------------------------------------------------------

    def deliver(self, out: Outbound) -> bool:
        if self.closed:
            return True
        if len(self._buffer) >= _BUFFER:
            return False
        self._buffer.append(out)
        if out.message.get("room") in _URGENT_ROOMS:
            if not self._urgent:
                self._urgent = True
                self._schedule(urgent_spread_ms(SessionFeed.live, self.urgent_ms))
        elif not self._scheduled:
            self._scheduled = True
            self._schedule(self.jitter_ms)
        return True

    def close_slow(self) -> None:
        self.state.connected = False
        self.stop()

    # -- applying ---------------------------------------------------------------------------

    def _schedule(self, spread_ms: int) -> None:
        doc = self.doc
        if doc is None:
            self.flush()
            return
        delay = self._rng.randint(0, spread_ms) if spread_ms else 0
        try:
            doc.add_timeout_callback(self.flush, delay)
        except Exception:  # the document is gone (session closing)
            self._scheduled = self._urgent = False

    def flush(self) -> None:
        """Apply every buffered message (on the document's thread, under its lock)."""
        self._scheduled = self._urgent = False
        if not self._buffer:
            return
        messages = [out.message for out in self._buffer]
        self._buffer.clear()
        now = time.time()
        doc = self.doc
        if doc is None:
            self.state.apply_all(messages, now)
            return
        with pn.io.hold(doc):
            try:
                self.state.apply_all(messages, now)
            except Exception:
                logger.error("dashboard update failed", exc_info=True)
