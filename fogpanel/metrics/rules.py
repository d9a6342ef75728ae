"""Threshold rules and the alert lifecycle: pending → firing → resolved, deduplicated.

A rule matches metric names by pattern and has a warning and/or critical level. A series whose
value crosses a level is *pending*; it *fires* once it has stayed there ``for`` seconds (one
alert per rule and series while firing; an escalation to critical updates that same alert). It
*resolves* when the value drops below the ``clear`` level (hysteresis: below the warning level by
a margin) and stays clear for ``keep_firing_for`` seconds. A rule and series that changes state
too often (``flap_limit`` times in ``flap_window``) is *flapping*: it stays quiet until stable.

Pure: ``evaluate(name, value, now)`` returns the alert messages to send.

Examples
--------
>>> engine = RuleEngine([Rule("cpu", "*.cpu_usage", warning=70, critical=90, for_=30)])
>>> engine.evaluate("device.a.cpu_usage", 95.0, now=0.0)
[]
>>> [(a["state"], a["severity"]) for a in engine.evaluate("device.a.cpu_usage", 96.0, now=30.0)]
[('firing', 'critical')]
>>> engine.evaluate("device.a.cpu_usage", 97.0, now=45.0)
[]
>>> [a["state"] for a in engine.evaluate("device.a.cpu_usage", 20.0, now=60.0)]
['resolved']
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fogpanel.protocol.messages import iso

__all__ = ["DEFAULT_RULES", "Rule", "RuleEngine", "load_rules", "parse_duration"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: Any) -> float:
    """Seconds from a number or a string like ``30s``, ``5m``, ``1h``.

    >>> parse_duration("2m"), parse_duration(15)
    (120.0, 15.0)
    """
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"not a duration: {value!r} (try 30s, 5m, 1h)")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass(frozen=True)
class Rule:
    """A threshold rule (levels for values above; ``below=True`` for values that fall)."""

    name: str
    pattern: str
    warning: float | None = None
    critical: float | None = None
    for_: float = 0.0
    clear: float | None = None
    keep_firing_for: float = 0.0
    below: bool = False

    def __post_init__(self) -> None:
        if self.warning is None and self.critical is None:
            raise ValueError(f"rule {self.name!r} needs a warning or a critical level")

    @property
    def clear_level(self) -> float:
        """Below (above, for ``below`` rules) this the condition is over: the hysteresis."""
        if self.clear is not None:
            return self.clear
        level = self.warning if self.warning is not None else self.critical
        assert level is not None
        margin = abs(level) * 0.05
        return level + margin if self.below else level - margin

    def severity(self, value: float) -> str | None:
        """The severity this value reaches, if any."""
        def beyond(level: float | None) -> bool:
            return level is not None and (value <= level if self.below else value >= level)

        if beyond(self.critical):
            return "critical"
        if beyond(self.warning):
            return "warning"
        return None

    def cleared(self, value: float) -> bool:
        return value > self.clear_level if self.below else value < self.clear_level


DEFAULT_RULES = (
    Rule("cpu_usage", "*cpu_usage", warning=70, critical=90, for_=30, keep_firing_for=30),
    Rule("memory_usage", "*memory_usage", warning=80, critical=95, for_=30, keep_firing_for=30),
    Rule("latency_ms", "*latency_ms", warning=100, critical=500, for_=30, keep_firing_for=30),
    Rule("error_rate", "*error_rate", warning=5, critical=10, for_=30, keep_firing_for=30),
)


def load_rules(path: str | Path) -> list[Rule]:
    """Rules from a TOML file of ``[[rule]]`` tables (see ``docs/protocol.md``)."""
    data = tomllib.loads(Path(path).read_text())
    rules = []
    for i, item in enumerate(data.get("rule", [])):
        try:
            rules.append(Rule(
                name=str(item["name"]), pattern=str(item["metric"]),
                warning=item.get("warning"), critical=item.get("critical"),
                for_=parse_duration(item.get("for", 0)), clear=item.get("clear"),
                keep_firing_for=parse_duration(item.get("keep_firing_for", 0)),
                below=bool(item.get("below", False))))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: rule #{i + 1} is invalid: {exc}") from None
    return rules


@dataclass
class _Track:
    state: str = "inactive"  # inactive | pending | firing
    since: float = 0.0
    started: float = 0.0
    clear_since: float | None = None
    severity: str = "warning"
    value: float = 0.0
    changes: deque[float] = field(default_factory=deque)
    flapping: bool = False


@dataclass
class RuleEngine:
    """Evaluates rules per series and keeps each (rule, series) state."""

    rules: list[Rule] | tuple[Rule, ...] = DEFAULT_RULES
    flap_limit: int = 6
    flap_window: float = 600.0
    tracks: dict[tuple[str, str], _Track] = field(default_factory=dict)
    _matches: dict[str, list[Rule]] = field(default_factory=dict)

    def _rules_for(self, name: str) -> list[Rule]:
        found = self._matches.get(name)
        if found is None:
            found = [r for r in self.rules if fnmatch.fnmatchcase(name, r.pattern)]
            self._matches[name] = found
        return found

    def evaluate(self, name: str, value: float, now: float) -> list[dict[str, Any]]:
        """Advance every rule matching ``name``; return the alert messages to send."""
        out = []
        for rule in self._rules_for(name):
            msg = self._step(rule, name, value, now)
            if msg is not None:
                out.append(msg)
        return out

    def _step(self, rule: Rule, name: str, value: float, now: float) -> dict[str, Any] | None:
        key = (rule.name, name)
        track = self.tracks.get(key)
        if track is None:
            track = self.tracks[key] = _Track()
        track.value = value
        severity = rule.severity(value)
        if track.state == "inactive":
            if severity is None:
                return None
            track.state, track.since, track.severity = "pending", now, severity
        if track.state == "pending":
            if severity is None:
                track.state = "inactive"
                return None
            track.severity = max(track.severity, severity, key=_rank)
            if now - track.since >= rule.for_:
                track.state, track.started, track.clear_since = "firing", now, None
                return self._notify(rule, name, track, "firing", now)
            return None
        # firing
        if rule.cleared(value):
            if track.clear_since is None:
                track.clear_since = now
            if now - track.clear_since >= rule.keep_firing_for:
                track.state = "inactive"
                return self._notify(rule, name, track, "resolved", now)
            return None
        track.clear_since = None
        if severity is not None and _rank(severity) > _rank(track.severity):
            track.severity = severity  # escalation: the same alert, now critical
            return self._notify(rule, name, track, "firing", now, count_change=False)
        return None

    def _notify(self, rule: Rule, name: str, track: _Track, state: str, now: float,
                *, count_change: bool = True) -> dict[str, Any] | None:
        if count_change:
            track.changes.append(now)
            while track.changes and track.changes[0] <= now - self.flap_window:
                track.changes.popleft()
            was = track.flapping
            track.flapping = len(track.changes) >= self.flap_limit
            if track.flapping and was:
                return None  # flapping: stay quiet until it settles
        msg = self.message(rule, name, track, state, now)
        if track.flapping:
            msg["flapping"] = True
            msg["message"] += " (flapping: further changes are suppressed until it settles)"
        return msg

    def message(self, rule: Rule, name: str, track: _Track, state: str,
                now: float) -> dict[str, Any]:
        level = rule.critical if track.severity == "critical" else rule.warning
        alert_id = f"rule-{rule.name}-{name}"
        verb = "fell below" if rule.below else "exceeded"
        return {
            "id": f"{alert_id}-{state}-{int(now)}",
            "alert_id": alert_id,
            "kind": "threshold",
            "title": f"{name} {verb} {level:g}" if state == "firing" else f"{name} recovered",
            "message": (f"{name} = {track.value:g} ({rule.name} {track.severity} level "
                        f"{level:g}, clears at {rule.clear_level:g})"),
            "priority": track.severity,
            "severity": track.severity,
            "state": state,
            "source": "rule",
            "rule": rule.name,
            "metric": name,
            "value": track.value,
            "threshold": level,
            "labels": {"rule": rule.name, "metric": name, "severity": track.severity},
            "timestamp": iso(now),
            "started_at": iso(track.started),
            "resolved_at": iso(now) if state == "resolved" else None,
        }

    def active(self) -> list[tuple[str, str, _Track]]:
        """The (rule, series) pairs currently firing."""
        return [(r, s, t) for (r, s), t in self.tracks.items() if t.state == "firing"]

    def restore(self, rule_name: str, series: str, severity: str, started: float,
                value: float) -> None:
        """Mark a (rule, series) as firing again after a restart (no new notification)."""
        self.tracks[(rule_name, series)] = _Track(state="firing", since=started,
                                                  started=started, severity=severity,
                                                  value=value)


def _rank(severity: str) -> int:
    return 2 if severity == "critical" else 1
