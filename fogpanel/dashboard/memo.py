"""Render once per message, not once per session.

Every session of a process receives the same parsed message objects (the hub parses a message
once, :attr:`fogpanel.hub.Outbound.message`), so the HTML a component renders from them is the
same for every open tab. :func:`shared` remembers the last few results keyed by the identity of
the container arguments (and the value of plain ones); the cache holds the arguments, so an id
cannot be reused while its entry lives. Received messages are read-only by convention.

Examples
--------
>>> calls = []
>>> @shared
... def render(rows, mode):
...     calls.append(mode)
...     return f"{len(rows)} {mode}"
>>> rows = [1, 2]
>>> render(rows, "all"), render(rows, "all"), render([1, 2], "all"), len(calls)
('2 all', '2 all', '2 all', 2)
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["shared"]

R = TypeVar("R")
_PLAIN = (str, int, float, bool, type(None))
_SIZE = 16


def shared(fn: Callable[..., R]) -> Callable[..., R]:
    """Memoize ``fn`` on argument identity (containers) and value (plain values)."""
    cache: OrderedDict[tuple[Any, ...], tuple[tuple[Any, ...], R]] = OrderedDict()

    @functools.wraps(fn)
    def wrapper(*args: Any) -> R:
        key = tuple(a if isinstance(a, _PLAIN) else id(a) for a in args)
        hit = cache.get(key)
        if hit is not None and all(x is y for x, y in zip(hit[0], args, strict=True)):
            cache.move_to_end(key)
            return hit[1]
        result = fn(*args)
        cache[key] = (args, result)
        if len(cache) > _SIZE:
            cache.popitem(last=False)
        return result

    return wrapper
