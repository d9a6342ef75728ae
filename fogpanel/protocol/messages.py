"""Message types of the JSON WebSocket API: parse inbound frames, build outbound ones.

Inbound frames are parsed into frozen dataclasses and dispatched on their ``type`` explicitly, so
an unknown ``type`` never reaches a ``getattr`` on an untrusted name. Outbound frames are built by
small functions returning JSON text; room messages are built once per broadcast by the hub.

Examples
--------
>>> parse('{"type": "subscribe", "rooms": ["nodes"], "since": {"nodes": 4}}')
Subscribe(rooms=('nodes',), since={'nodes': 4}, epoch=None)
>>> parse('{"type": "subscribe", "rooms": "nodes"}')
Traceback (most recent call last):
...
fogpanel.errors.BadMessage: 'rooms' must be a list of room names
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fogpanel.errors import BadJson, BadMessage, UnknownType

__all__ = [
    "Auth",
    "Message",
    "Ping",
    "Pong",
    "Subscribe",
    "Unsubscribe",
    "dump",
    "error",
    "iso",
    "parse",
]


@dataclass(frozen=True)
class Auth:
    """``{"type": "auth", "token": "..."}``: authenticate a connection opened without a token."""

    token: str


@dataclass(frozen=True)
class Subscribe:
    """``{"type": "subscribe", "rooms": [...], "since": {room: offset}, "epoch": "..."}``."""

    rooms: tuple[str, ...]
    since: dict[str, int] = field(default_factory=dict)
    epoch: str | None = None


@dataclass(frozen=True)
class Unsubscribe:
    """``{"type": "unsubscribe", "rooms": [...]}``."""

    rooms: tuple[str, ...]


@dataclass(frozen=True)
class Ping:
    """``{"type": "ping"}``: the server answers ``pong``."""


@dataclass(frozen=True)
class Pong:
    """``{"type": "pong"}``: an answer to the server's ``ping``; counts as liveness."""


Message = Auth | Subscribe | Unsubscribe | Ping | Pong


def _rooms(obj: dict[str, Any]) -> tuple[str, ...]:
    rooms = obj.get("rooms")
    if not isinstance(rooms, list) or not all(isinstance(r, str) for r in rooms):
        raise BadMessage("'rooms' must be a list of room names")
    if not rooms:
        raise BadMessage("'rooms' must name at least one room")
    return tuple(dict.fromkeys(rooms))


def _since(obj: dict[str, Any]) -> dict[str, int]:
    since = obj.get("since", {})
    if since is None:
        return {}
    if not isinstance(since, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in since.values()
    ):
        raise BadMessage("'since' must map room names to non-negative integer offsets")
    return dict(since)


def _parse_auth(obj: dict[str, Any]) -> Auth:
    token = obj.get("token")
    if not isinstance(token, str) or not token:
        raise BadMessage("'token' must be a non-empty string")
    return Auth(token)


def _parse_subscribe(obj: dict[str, Any]) -> Subscribe:
    epoch = obj.get("epoch")
    if epoch is not None and not isinstance(epoch, str):
        raise BadMessage("'epoch' must be a string")
    return Subscribe(_rooms(obj), _since(obj), epoch)


_PARSERS: dict[str, Any] = {
    "auth": _parse_auth,
    "subscribe": _parse_subscribe,
    "unsubscribe": lambda obj: Unsubscribe(_rooms(obj)),
    "ping": lambda obj: Ping(),
    "pong": lambda obj: Pong(),
}


def parse(text: str) -> Message:
    """Parse one inbound text frame.

    Raises
    ------
    BadJson
        The text is not JSON, or not a JSON object.
    UnknownType
        ``type`` is missing or unknown.
    BadMessage
        A field is missing or has the wrong type.
    """
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        raise BadJson("the frame is not valid JSON") from None
    if not isinstance(obj, dict):
        raise BadJson("the frame must be a JSON object")
    kind = obj.get("type")
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        raise UnknownType("'type' must be one of: " + ", ".join(_PARSERS))
    return parser(obj)  # type: ignore[no-any-return]


def iso(now: float) -> str:
    """ISO 8601 UTC with a ``Z``, millisecond precision.

    >>> iso(0.5)
    '1970-01-01T00:00:00.500Z'
    """
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def dump(kind: str, now: float, **fields: Any) -> str:
    """One outbound control frame: ``{"type": kind, **fields, "timestamp": iso(now)}``."""
    return json.dumps({"type": kind, **fields, "timestamp": iso(now)}, separators=(",", ":"))


def error(code: str, message: str, now: float, **extra: Any) -> str:
    """An ``error`` frame with a stable ``code`` and a human ``message`` (never a traceback)."""
    return dump("error", now, code=code, message=message, **extra)
