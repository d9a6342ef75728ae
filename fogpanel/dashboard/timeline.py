"""The dashboard's histories (health score; node latency and rate), kept once per process.

Every session of a process receives the same message objects, so the points they add are the
same too. Keeping one history per hub instead of one per session means one list (and one
sparkline rendered from it, see :mod:`fogpanel.dashboard.memo`) for every open tab, and a tab
opened now shows the last hour at once instead of only what arrived since it opened.

Examples
--------
>>> t = Timelines(size=2)
>>> m1, m2, m3 = {"n": 1}, {"n": 2}, {"n": 3}
>>> t.add("health", m1, (1.0, 90)) is t.add("health", m1, (1.5, 90))  # a second session
True
>>> t.add("health", m2, (2.0, 80)); t.add("health", m3, (3.0, 70))
[(1.0, 90), (2.0, 80)]
[(2.0, 80), (3.0, 70)]
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

__all__ = ["HISTORY", "Timelines", "timelines_for"]

HISTORY = 360  # points: an hour of health at the 10 s metrics tick


class Timelines:
    """Named point series, each extended once per distinct message."""

    def __init__(self, size: int = HISTORY) -> None:
        self.size = size
        self._series: dict[str, list[Any]] = {}
        self._last: dict[str, object] = {}

    def add(self, name: str, message: object, point: Any) -> list[Any]:
        """The series after ``message``: extended by ``point`` the first time any session
        applies ``message``, as it is for every later one. A new list each time (param sees
        a change); lists are never changed in place (sessions and renders share them)."""
        if self._last.get(name) is not message:
            self._last[name] = message
            self._series[name] = (self._series.get(name, []) + [point])[-self.size:]
        return self._series[name]

    def get(self, name: str) -> list[Any]:
        return self._series.get(name, [])


_BY_HUB: WeakKeyDictionary[Any, Timelines] = WeakKeyDictionary()


def timelines_for(hub: Any) -> Timelines:
    """The timelines of the sessions fed by ``hub``."""
    found = _BY_HUB.get(hub)
    if found is None:
        found = _BY_HUB[hub] = Timelines()
    return found
