"""The aggregator with a fake clock: learning first, anomaly alerts with details, counters."""

from __future__ import annotations

import math

import pytest

from fogpanel.metrics.aggregator import Aggregator, parse_detector_rules
from fogpanel.metrics.sink import Sample


def wave(name: str, n: int, start: float = 0.0):
    return [Sample(name, 50 + 5 * math.sin(i / 20), start + i * 10.0) for i in range(n)]


def test_no_alert_while_learning_then_alert_with_details():
    """Nothing fires during the learning samples; afterwards a new level fires once."""
    agg = Aggregator(learn_samples=200, cooldown=5)
    assert agg.update([*wave("svc.other_ms", 150), Sample("svc.other_ms", 900.0, 1500.0)]) == []
    agg.update(wave("svc.latency_ms", 550, start=500.0))
    (alert,) = agg.update([Sample("svc.latency_ms", 900.0, 6000.0)])
    assert alert["severity"] in ("warning", "critical") and alert["priority"] == alert["severity"]
    assert alert["timestamp"].endswith("Z") and alert["value"] == 900.0
    assert alert["expected"]["low"] >= 40 and alert["expected"]["high"] <= 60
    assert 0.5 <= alert["score"] < 1 and alert["kind"] == "anomaly" and alert["window"]
    assert agg.summary(6000.0)["anomalies_raised"] == 1


def test_cooldown_debounces_a_sustained_anomaly():
    """Twenty anomalous samples in a row give one alert per cool-down, not twenty."""
    agg = Aggregator(learn_samples=100, cooldown=10)
    agg.update(wave("m", 400))
    alerts = agg.update([Sample("m", 500.0 * 2**i, 4000.0 + i * 10) for i in range(20)])
    assert len(alerts) == 2


def test_counters_are_not_scored_but_windowed():
    """Monotonic counters (tasks.total) never alert, yet their statistics are kept."""
    agg = Aggregator(learn_samples=10)
    alerts = agg.update([Sample("tasks.total", float(i), float(i)) for i in range(500)])
    assert alerts == [] and agg.series["tasks.total"].detector is None
    assert agg.statistics("tasks.total", "1m", 499.0)["count"] == 60


def test_out_of_order_samples_are_dropped():
    """A sample older than the series' last is ignored (windows need time order)."""
    agg = Aggregator()
    agg.update([Sample("m", 1.0, 100.0), Sample("m", 2.0, 50.0)])
    assert agg.latest("m") == (1.0, 100.0) and agg.samples_seen == 1


def test_detector_rules_validate():
    """Malformed rules or unknown detectors are refused."""
    with pytest.raises(ValueError):
        parse_detector_rules(["*"])
    with pytest.raises(ValueError):
        parse_detector_rules(["*=magic"])
