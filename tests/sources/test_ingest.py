"""Ingest validation per report, and device staleness by the clock."""

from __future__ import annotations

import pytest

from fogpanel.sources.ingest import AgentRegistry, validate_batch

GOOD = {"node_id": "edge-1", "timestamp": 1000.0, "metrics": {"cpu_usage": 10.0}}


@pytest.mark.parametrize(
    ("report", "field"),
    [
        ("not an object", "reports[0]"),
        ({**GOOD, "node_id": ""}, "reports[0].node_id"),
        ({**GOOD, "node_id": "bad id!"}, "reports[0].node_id"),
        ({k: v for k, v in GOOD.items() if k != "timestamp"}, "reports[0].timestamp"),
        ({**GOOD, "timestamp": "yesterday"}, "reports[0].timestamp"),
        ({**GOOD, "timestamp": 1000.0 + 301}, "reports[0].timestamp"),
        ({**GOOD, "timestamp": 1000.0 - 3601}, "reports[0].timestamp"),
        ({**GOOD, "metrics": {}}, "reports[0].metrics"),
        ({**GOOD, "metrics": [1, 2]}, "reports[0].metrics"),
        ({**GOOD, "metrics": {"cpu_usage": "90"}}, "reports[0].metrics.cpu_usage"),
        ({**GOOD, "metrics": {"cpu_usage": True}}, "reports[0].metrics.cpu_usage"),
        ({**GOOD, "metrics": {"cpu_usage": float("nan")}}, "reports[0].metrics.cpu_usage"),
        ({**GOOD, "status": "exploded"}, "reports[0].status"),
    ],
)
def test_each_bad_report_names_its_field(report, field):
    """A bad report is refused with the exact field; nothing invalid is kept."""
    ok, errors = validate_batch({"reports": [report]}, now=1000.0)
    assert ok == [] and [e["field"] for e in errors] == [field]


def test_valid_reports_in_a_bad_batch_are_kept():
    """Valid reports survive next to invalid ones, in order."""
    batch = {"reports": [GOOD, {**GOOD, "metrics": {"x": "y"}},
                         {**GOOD, "node_id": "edge-2", "timestamp": "1970-01-01T00:16:40Z"}]}
    ok, errors = validate_batch(batch, now=1000.0)
    assert [r.node_id for r in ok] == ["edge-1", "edge-2"]
    assert ok[1].timestamp == 1000.0
    assert [e["field"] for e in errors] == ["reports[1].metrics.x"]


@pytest.mark.parametrize("body", [[], {"reports": []}, {"reports": "x"}, None])
def test_bad_batch_shapes(body):
    """A body that is not a batch is refused as a whole."""
    ok, errors = validate_batch(body, now=0.0)
    assert ok == [] and len(errors) == 1


def test_bare_report_is_a_batch_of_one():
    """A single report without the reports wrapper is accepted."""
    ok, errors = validate_batch(GOOD, now=1000.0)
    assert [r.node_id for r in ok] == ["edge-1"] and errors == []


def test_device_goes_stale_then_offline():
    """A device that stops reporting is stale after stale_after, offline after offline_after."""
    reg = AgentRegistry(stale_after=30, offline_after=120)
    ok, _ = validate_batch(GOOD, now=1000.0)
    reg.accept(ok[0], reported_by="agent-a", now=1000.0)
    assert reg.status("edge-1", 1029.0) == "online" and reg.live_count(1029.0) == 1
    assert reg.status("edge-1", 1030.0) == "stale" and reg.live_count(1030.0) == 0
    assert reg.status("edge-1", 1120.0) == "offline"
    row = reg.devices(1120.0)[0]
    assert row["real"] is True and row["source"] == "agent" and row["reported_by"] == "agent-a"
