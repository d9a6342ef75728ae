"""Silences: mute alerts that match label patterns for a while (Alertmanager-style).

A silence has matchers (label → glob pattern, all must match), a start, an end, an author and a
comment. Alerts are matched on their ``labels`` and top-level fields (``metric``, ``rule``,
``severity``, ``source``, ``target``, ``kind``). Pure: ``now`` is always passed in.

Examples
--------
>>> book = Silences()
>>> s = book.add({"metric": "device.*.cpu_usage"}, 3600, "ops", "maintenance", now=0.0)
>>> book.match({"metric": "device.a.cpu_usage", "severity": "critical"}, now=10.0) is s
True
>>> book.expire(s.id, now=20.0), book.match({"metric": "device.a.cpu_usage"}, now=30.0)
(True, None)
"""

from __future__ import annotations

import fnmatch
import secrets
from dataclasses import asdict, dataclass
from typing import Any

from fogpanel.errors import BadMessage
from fogpanel.protocol.messages import iso

__all__ = ["MATCH_FIELDS", "Silence", "Silences"]

MATCH_FIELDS = ("metric", "rule", "severity", "source", "target", "kind", "incident")
_MAX_SECONDS = 30 * 86400.0


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: dict[str, str]
    starts: float
    ends: float
    author: str
    comment: str

    def active(self, now: float) -> bool:
        return self.starts <= now < self.ends

    def matches(self, alert: dict[str, Any]) -> bool:
        labels = {**{k: alert.get(k) for k in MATCH_FIELDS}, **(alert.get("labels") or {})}
        return all(labels.get(k) is not None and fnmatch.fnmatchcase(str(labels[k]), pattern)
                   for k, pattern in self.matchers.items())

    def to_json(self, now: float) -> dict[str, Any]:
        return {**asdict(self), "starts_at": iso(self.starts), "ends_at": iso(self.ends),
                "status": "active" if self.active(now) else
                ("pending" if now < self.starts else "expired")}


class Silences:
    """The set of silences, active and recently expired."""

    def __init__(self) -> None:
        self._all: dict[str, Silence] = {}

    def add(self, matchers: Any, duration: float, author: Any, comment: Any, now: float,
            *, silence_id: str | None = None) -> Silence:
        """Create a silence from now for ``duration`` seconds; validates every field."""
        if not isinstance(matchers, dict) or not matchers or not all(
                isinstance(k, str) and isinstance(v, str) and v for k, v in matchers.items()):
            raise BadMessage("'matcher' must be a non-empty object of label: pattern")
        if not 0 < duration <= _MAX_SECONDS:
            raise BadMessage("'duration' must be between 1 second and 30 days")
        if not isinstance(author, str) or not author.strip():
            raise BadMessage("'author' must be a non-empty string")
        if not isinstance(comment, str):
            raise BadMessage("'comment' must be a string")
        silence = Silence(silence_id or secrets.token_hex(6), dict(matchers), now, now + duration,
                          author.strip(), comment)
        self._all[silence.id] = silence
        return silence

    def restore(self, silence: Silence) -> None:
        self._all[silence.id] = silence

    def expire(self, silence_id: str, now: float) -> bool:
        """End a silence now; False if there is no such active silence."""
        silence = self._all.get(silence_id)
        if silence is None or not silence.active(now):
            return False
        self._all[silence_id] = Silence(**{**asdict(silence), "ends": now})
        return True

    def get(self, silence_id: str) -> Silence | None:
        return self._all.get(silence_id)

    def match(self, alert: dict[str, Any], now: float) -> Silence | None:
        for silence in self._all.values():
            if silence.active(now) and silence.matches(alert):
                return silence
        return None

    def list(self, now: float, *, keep_expired_for: float = 86400.0) -> list[Silence]:
        """Active and pending silences, and those expired within ``keep_expired_for``."""
        for sid in [s.id for s in self._all.values() if s.ends < now - keep_expired_for]:
            del self._all[sid]
        return sorted(self._all.values(), key=lambda s: s.starts, reverse=True)
