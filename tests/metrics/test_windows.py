"""Windows by time with a fake clock; statistics checked against numpy."""

from __future__ import annotations

import random

import numpy as np
import pytest

from fogpanel.metrics.windows import SeriesWindows, summarise


def test_windows_are_bounded_by_time_not_count():
    """Irregular sampling: each window holds exactly the samples of its last span."""
    w = SeriesWindows()
    times = []
    t = 0.0
    rng = random.Random(1)
    for _ in range(5000):
        t += rng.choice([0.5, 1.0, 7.0, 30.0])
        times.append(t)
        w.add(t, now=t)
    for window, span in (("1m", 60), ("5m", 300), ("1h", 3600)):
        expected = [x for x in times if x > t - span]
        assert w.values(window, now=t) == expected
    assert len(w) == len([x for x in times if x > t - 3600])


def test_old_samples_leave_as_time_passes():
    """A sample leaves the 1m window 60 s after it arrived."""
    w = SeriesWindows()
    w.add(5.0, now=100.0)
    assert w.stats("1m", now=159.9)["count"] == 1
    assert w.stats("1m", now=160.0)["count"] == 0
    assert w.stats("1h", now=160.0)["count"] == 1


def test_statistics_match_numpy():
    """count/min/max/avg/median/stddev/p95 equal numpy's on random data."""
    rng = np.random.default_rng(7)
    values = rng.normal(50, 12, 999).tolist()
    s = summarise(values)
    assert s["count"] == 999
    assert s["min"] == min(values) and s["max"] == max(values)
    assert s["avg"] == pytest.approx(np.mean(values))
    assert s["median"] == pytest.approx(np.median(values))
    assert s["stddev"] == pytest.approx(np.std(values))
    assert s["p95"] == pytest.approx(np.percentile(values, 95))
    assert summarise([])["avg"] is None
