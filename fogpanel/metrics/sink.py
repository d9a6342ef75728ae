"""Where every metric sample the publishers and agents see is sent.

Names are dotted (``device.<id>.cpu_usage``, ``betanet.avg_latency_ms``, ``tasks.failed_rate``).
Until the metrics engine lands the process uses :class:`NullSink`; the aggregator will implement
the same one-method protocol.

Examples
--------
>>> sink = ListSink()
>>> sink.record([Sample("betanet.avg_latency_ms", 21.5, 0.0)])
>>> sink.samples[0].name
'betanet.avg_latency_ms'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["ListSink", "MetricSink", "NullSink", "Sample"]


@dataclass(frozen=True, slots=True)
class Sample:
    """One metric value at one time."""

    name: str
    value: float
    ts: float
    labels: tuple[tuple[str, str], ...] = ()


class MetricSink(Protocol):
    def record(self, samples: Iterable[Sample]) -> None:
        """Take samples (must not block the event loop)."""
        ...


class NullSink:
    """Drops samples (until the metrics engine exists), counting them."""

    def __init__(self) -> None:
        self.count = 0

    def record(self, samples: Iterable[Sample]) -> None:
        self.count += sum(1 for _ in samples)


@dataclass
class ListSink:
    """Keeps samples in a list: for notebooks, tests and debugging."""

    samples: list[Sample] = field(default_factory=list)

    def record(self, samples: Iterable[Sample]) -> None:
        self.samples.extend(samples)
