"""Rule lifecycle with a fake clock: pending, firing, dedup, escalation, hysteresis, flapping."""

from __future__ import annotations

import pytest

from fogpanel.metrics.rules import DEFAULT_RULES, Rule, RuleEngine, load_rules, parse_duration

CPU = Rule("cpu", "*.cpu_usage", warning=70, critical=90, for_=30, clear=60, keep_firing_for=20)


def states(msgs):
    return [(m["state"], m["severity"]) for m in msgs]


def test_pending_until_for_elapses_then_fires_once():
    """A breach is pending for `for`; it fires once; further breaches are deduplicated."""
    e = RuleEngine([CPU])
    assert e.evaluate("d.cpu_usage", 75, 0) == []
    assert e.evaluate("d.cpu_usage", 76, 29) == []
    assert states(e.evaluate("d.cpu_usage", 77, 30)) == [("firing", "warning")]
    assert [e.evaluate("d.cpu_usage", 78, t) for t in (40, 50, 60)] == [[], [], []]


def test_short_breach_never_fires():
    """A breach shorter than `for` goes back to inactive without an alert."""
    e = RuleEngine([CPU])
    e.evaluate("d.cpu_usage", 95, 0)
    assert e.evaluate("d.cpu_usage", 20, 10) == []
    assert e.evaluate("d.cpu_usage", 95, 20) == []  # pending again from 20
    assert e.evaluate("d.cpu_usage", 95, 45) == []
    assert states(e.evaluate("d.cpu_usage", 95, 50)) == [("firing", "critical")]


def test_escalation_updates_the_same_alert():
    """warning → critical while firing sends one update with the same alert_id."""
    e = RuleEngine([CPU])
    e.evaluate("d.cpu_usage", 75, 0)
    (first,) = e.evaluate("d.cpu_usage", 75, 30)
    (second,) = e.evaluate("d.cpu_usage", 95, 40)
    assert first["alert_id"] == second["alert_id"] and second["severity"] == "critical"
    assert e.evaluate("d.cpu_usage", 96, 50) == []


def test_hysteresis_and_keep_firing_for():
    """Between clear and warning it keeps firing; below clear it resolves after keep_firing_for."""
    e = RuleEngine([CPU])
    e.evaluate("d.cpu_usage", 80, 0)
    e.evaluate("d.cpu_usage", 80, 30)
    assert e.evaluate("d.cpu_usage", 65, 40) == []  # below warning, above clear
    assert e.evaluate("d.cpu_usage", 50, 50) == []  # clear, but keep_firing_for
    assert e.evaluate("d.cpu_usage", 85, 60) == []  # back up: still the same alert
    assert e.evaluate("d.cpu_usage", 50, 70) == []
    (resolved,) = e.evaluate("d.cpu_usage", 50, 90)
    assert resolved["state"] == "resolved" and resolved["resolved_at"].endswith("Z")


def test_flapping_is_suppressed():
    """A series that fires and resolves over and over goes quiet until it settles."""
    e = RuleEngine([Rule("cpu", "*.cpu_usage", warning=70, clear=60)], flap_limit=4,
                   flap_window=600)
    sent = []
    t = 0.0
    for _ in range(10):
        sent += e.evaluate("d.cpu_usage", 80, t)
        sent += e.evaluate("d.cpu_usage", 50, t + 5)
        t += 10
    assert len(sent) == 4 and sent[-1]["flapping"] is True
    assert e.evaluate("d.cpu_usage", 80, t + 1000)[0]["state"] == "firing"  # settled


def test_below_rules_and_pattern_matching():
    """A `below` rule fires when the value falls; patterns pick the series."""
    e = RuleEngine([Rule("battery", "device.*.battery", warning=20, critical=5, below=True)])
    assert e.evaluate("device.p.battery", 50, 0) == []
    assert states(e.evaluate("device.p.battery", 4, 1)) == [("firing", "critical")]
    assert e.evaluate("device.p.cpu_usage", 99, 2) == []


def test_defaults_and_rules_file(tmp_path):
    """Default rules cover cpu/memory/latency/error_rate; a TOML file replaces them."""
    assert {r.name: (r.warning, r.critical) for r in DEFAULT_RULES} == {
        "cpu_usage": (70, 90), "memory_usage": (80, 95), "latency_ms": (100, 500),
        "error_rate": (5, 10)}
    path = tmp_path / "rules.toml"
    path.write_text('[[rule]]\nname = "q"\nmetric = "*.queue_depth"\nwarning = 10\n'
                    'for = "2m"\nkeep_firing_for = "30s"\n')
    (rule,) = load_rules(path)
    assert (rule.pattern, rule.for_, rule.keep_firing_for) == ("*.queue_depth", 120.0, 30.0)
    path.write_text('[[rule]]\nname = "q"\nmetric = "*"\n')
    with pytest.raises(ValueError, match="rule #1"):
        load_rules(path)
    with pytest.raises(ValueError):
        parse_duration("soon")
