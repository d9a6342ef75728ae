"""Contract checks run on every detector, and the default detector's behaviour."""

from __future__ import annotations

import math
import pickle

import pytest

from fogpanel.metrics.detectors import DETECTORS, NoveltyDetector, make_detector


def stream(n: int = 600, seed: int = 0) -> list[tuple[float, float]]:
    """A noisy daily-ish series, one sample a minute."""
    import random

    rng = random.Random(seed)
    return [(50 + 10 * math.sin(i / 60) + rng.gauss(0, 1), i * 60.0) for i in range(n)]


@pytest.fixture(params=sorted(DETECTORS))
def kind(request):
    return request.param


def test_scores_zero_before_warmup(kind):
    """Nothing is anomalous before the detector has learned enough."""
    d = make_detector(kind)
    assert all(d.score_one(1e9, t) == 0.0 for _, t in stream(5))


def test_scoring_does_not_learn(kind):
    """score_one leaves the model unchanged (score before learn is possible)."""
    d = make_detector(kind)
    for x, t in stream(300):
        d.learn_one(x, t)
    first = d.score_one(75.0, 301 * 60.0)
    assert [d.score_one(75.0, 301 * 60.0) for _ in range(5)] == [first] * 5
    assert d.learn_one(75.0, 301 * 60.0) is None


def test_pickle_round_trip(kind):
    """A pickled detector scores exactly like the original."""
    d = make_detector(kind)
    for x, t in stream(300):
        d.learn_one(x, t)
    clone = pickle.loads(pickle.dumps(d))
    probes = [(40.0, 1e5), (60.0, 1e5 + 60), (500.0, 1e5 + 120)]
    assert [clone.score_one(x, t) for x, t in probes] == [d.score_one(x, t) for x, t in probes]


def test_deterministic(kind):
    """Two detectors fed the same stream give the same scores."""
    a, b = make_detector(kind), make_detector(kind)
    out = []
    for d in (a, b):
        scores = []
        for x, t in stream(400, seed=3):
            scores.append(d.score_one(x, t))
            d.learn_one(x, t)
        out.append(scores)
    assert out[0] == out[1]


def test_scores_in_unit_interval_and_survive_bad_values(kind):
    """Scores stay in [0, 1); NaN and inf are neither learned nor crash."""
    d = make_detector(kind)
    for x, t in stream(300):
        assert 0.0 <= d.score_one(x, t) < 1.0
        d.learn_one(x, t)
    for bad in (math.nan, math.inf, -math.inf):
        assert d.score_one(bad, 1e6) == 0.0
        d.learn_one(bad, 1e6)
    assert 0.0 <= d.score_one(50.0, 1e6) < 1.0


@pytest.mark.parametrize("kind", ["novelty", "zscore"])
def test_constant_series_never_alarms(kind):
    """A queue stuck at 0 scores 0 forever (river's GaussianScorer would score 1)."""
    d = make_detector(kind)
    scores = []
    for i in range(2000):
        scores.append(d.score_one(0.0, i * 10.0))
        d.learn_one(0.0, i * 10.0)
    assert max(scores) == 0.0


def test_novelty_flags_new_levels_and_yesterday_deviations():
    """A level beyond the recent range scores >= 0.5; so does an odd value for the hour."""
    d = NoveltyDetector(horizon=3000, warmup=50)
    day = 86400.0
    for i in range(int(3 * day // 300)):  # three days of a daily wave, every 5 minutes
        t = i * 300.0
        d.learn_one(100 + 50 * math.sin(2 * math.pi * t / day), t)
    t = 3 * day + 6 * 3600  # 06:00, where the wave peaks at 150
    assert d.score_one(150.0, t) < 0.5
    assert d.score_one(260.0, t) >= 0.5  # never seen
    assert d.score_one(50.0, t) >= 0.5  # seen (the trough), but never at this hour
    assert make_detector("none") is None
    with pytest.raises(ValueError):
        make_detector("magic")
