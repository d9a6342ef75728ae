"""The aggregator: samples in, windows updated, anomalies scored, anomaly alerts out.

Pure: it knows nothing of asyncio, Tornado or SQLite. Per series it keeps time-bounded windows
and, for the metric families the ``detectors`` setting selects, a detector and an anomaly gate.
Each sample is scored before it is learned; the first ``learn_samples`` samples of a series only
learn (as NAB's probation), so a fresh server does not page anyone while it learns what normal is.

Examples
--------
>>> agg = Aggregator(learn_samples=50)
>>> alerts = []
>>> for i in range(300):
...     alerts += agg.update([Sample("svc.latency_ms", 20.0 + (i % 5), float(i))])
>>> alerts += agg.update([Sample("svc.latency_ms", 400.0, 300.0)])
>>> [(a["metric"], a["severity"], a["value"]) for a in alerts]
[('svc.latency_ms', 'critical', 400.0)]
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fogpanel.metrics.anomaly import AnomalyGate
from fogpanel.metrics.detectors import Detector, NoveltyDetector, make_detector
from fogpanel.metrics.sink import Sample
from fogpanel.metrics.windows import SeriesWindows
from fogpanel.protocol.messages import iso

__all__ = ["DEFAULT_DETECTORS", "Aggregator", "parse_detector_rules"]

# Counters only grow: every sample is a "new level", so they are not scored.
DEFAULT_DETECTORS = ("tasks.total=none", "tasks.completed=none", "tasks.failed=none",
                     "*.packets_processed=none", "*=novelty")


def parse_detector_rules(rules: Iterable[str]) -> list[tuple[str, str]]:
    """``pattern=kind`` strings to pairs; the first matching pattern wins.

    >>> parse_detector_rules(["device.*.battery=none", "*=novelty"])
    [('device.*.battery', 'none'), ('*', 'novelty')]
    """
    out = []
    for rule in rules:
        pattern, sep, kind = rule.partition("=")
        if not sep or not pattern.strip() or not kind.strip():
            raise ValueError(f"detector rule {rule!r} must look like pattern=kind")
        make_detector(kind.strip())  # validates the kind
        out.append((pattern.strip(), kind.strip()))
    return out


@dataclass
class _Series:
    windows: SeriesWindows
    detector: Detector | None
    gate: AnomalyGate
    seen: int = 0
    last: float | None = None
    last_ts: float | None = None
    anomalies: int = 0
    last_score: float = 0.0


@dataclass
class Aggregator:
    """Per-series windows, detectors and anomaly gates."""

    detector_rules: list[tuple[str, str]] = field(
        default_factory=lambda: parse_detector_rules(DEFAULT_DETECTORS))
    learn_samples: int = 750
    cooldown: int = 20
    series: dict[str, _Series] = field(default_factory=dict)
    samples_seen: int = 0
    anomalies_raised: int = 0

    def _kind(self, name: str) -> str:
        for pattern, kind in self.detector_rules:
            if fnmatch.fnmatchcase(name, pattern):
                return kind
        return "none"

    def _series(self, name: str) -> _Series:
        s = self.series.get(name)
        if s is None:
            s = _Series(SeriesWindows(), make_detector(self._kind(name)),
                        AnomalyGate(cooldown=self.cooldown))
            self.series[name] = s
        return s

    def update(self, samples: Iterable[Sample]) -> list[dict[str, Any]]:
        """Record samples; return the anomaly alerts they raise (usually none)."""
        alerts = []
        for sample in samples:
            s = self._series(sample.name)
            x, t = sample.value, sample.ts
            if s.last_ts is not None and t < s.last_ts:
                continue  # out of order for this series: the windows need time order
            self.samples_seen += 1
            s.windows.add(x, t)
            s.seen += 1
            s.last, s.last_ts = x, t
            detector = s.detector
            if detector is None:
                continue
            score = detector.score_one(x, t)
            s.last_score = score
            if s.seen > self.learn_samples and s.gate.check(score):
                s.anomalies += 1
                self.anomalies_raised += 1
                alerts.append(self._alert(sample, score, detector))
            detector.learn_one(x, t)
        return alerts

    def _alert(self, sample: Sample, score: float, detector: Detector) -> dict[str, Any]:
        expected = detector.expected() if isinstance(detector, NoveltyDetector) else None
        severity = "critical" if score >= 0.8 else "warning"
        alert_id = f"anomaly-{sample.name}-{int(sample.ts)}"
        return {
            "id": alert_id,
            "alert_id": alert_id,
            "kind": "anomaly",
            "title": f"Anomaly on {sample.name}",
            "message": (f"{sample.name} = {sample.value:g} is outside what it has done "
                        "recently" + (f" ({expected[0]:g} to {expected[1]:g})" if expected
                                      else "")),
            "priority": severity,
            "severity": severity,
            "state": "firing",
            "source": "anomaly",
            "metric": sample.name,
            "value": sample.value,
            "expected": {"low": expected[0], "high": expected[1]} if expected else None,
            "score": round(score, 4),
            "window": "recent horizon and the same time yesterday",
            "labels": dict(sample.labels),
            "timestamp": iso(sample.ts),
            "started_at": iso(sample.ts),
            "resolved_at": None,
        }

    def statistics(self, name: str, window: str, now: float) -> dict[str, Any] | None:
        s = self.series.get(name)
        if s is None:
            return None
        return s.windows.stats(window, now)

    def summary(self, now: float) -> dict[str, Any]:
        return {
            "series": len(self.series),
            "samples_seen": self.samples_seen,
            "anomalies_raised": self.anomalies_raised,
            "learning": sum(1 for s in self.series.values()
                            if s.detector is not None and s.seen <= self.learn_samples),
            "scored": sum(1 for s in self.series.values() if s.detector is not None),
        }

    def latest(self, name: str) -> tuple[float, float] | None:
        s = self.series.get(name)
        if s is None or s.last is None or s.last_ts is None:
            return None
        return s.last, s.last_ts
