"""Our NAB scorer, written from the scoring rules in ``shared/data/nab-dev/README.md``.

Not NAB's code: a re-implementation of its rules (Lavin & Ahmad 2015) so fogpanel's detection
path can be scored on any NAB-format corpus. ``tests/bench/test_nab_score.py`` checks it against
the reference values of Numenta's HTM output on the development subset.

- One threshold for every series turns scores into detections.
- Detections in the probationary rows (first ``min(floor(0.15 n), 750)``) are ignored.
- The earliest detection in a window is worth ``A_TP * S(y) / S(-1)`` with
  ``y = -(R - i + 1) / width``; a window without one costs ``-A_FN``.
- A detection outside every window costs ``-A_FP`` before the first window, and
  ``A_FP * S'(y)`` after one, ``y = (i - R_prev) / (width_prev - 1)``, ``S'(y) = -1`` for
  ``y > 3``.
- Normalised score: ``100 * (S - S_null) / (S_perfect - S_null)`` over the whole set.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

__all__ = ["PROFILES", "Series", "load_corpus", "normalised", "score_series", "sigmoid"]

PROFILES: dict[str, tuple[float, float, float]] = {
    "standard": (1.0, 0.11, 1.0),
    "reward_low_FP_rate": (1.0, 0.22, 1.0),
    "reward_low_FN_rate": (1.0, 0.11, 2.0),
}


def sigmoid(y: float) -> float:
    """NAB's scaled sigmoid S(y) = 2 / (1 + exp(5y)) - 1."""
    if 5 * y > 700:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


@dataclass
class Series:
    """One NAB series: its key (``category/file.csv``), timestamps, values and windows."""

    key: str
    timestamps: list[datetime]
    values: list[float]
    windows: list[tuple[int, int]]

    @property
    def probation(self) -> int:
        return min(math.floor(0.15 * len(self.values)), 750)


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.strip())


def load_corpus(corpus: Path, labels: Path) -> list[Series]:
    """Every series under ``corpus`` (``<category>/<file>.csv``) with its labelled windows."""
    windows = json.loads(Path(labels).read_text())
    out = []
    for path in sorted(Path(corpus).glob("*/*.csv")):
        key = f"{path.parent.name}/{path.name}"
        with path.open() as fh:
            rows = list(csv.DictReader(fh))
        stamps = [_parse_time(r["timestamp"]) for r in rows]
        index = {t: i for i, t in enumerate(stamps)}
        spans = []
        for start, end in windows.get(key, []):
            spans.append((index[_parse_time(start)], index[_parse_time(end)]))
        out.append(Series(key, stamps, [float(r["value"]) for r in rows], sorted(spans)))
    return out


def score_series(detections: Sequence[bool], windows: Sequence[tuple[int, int]],
                 probation: int, profile: tuple[float, float, float]) -> float:
    """The raw NAB score of one series' detections under one profile."""
    a_tp, a_fp, a_fn = profile
    total = 0.0
    found = [False] * len(windows)
    s_edge = sigmoid(-1.0)
    w = 0  # index of the first window whose right edge is >= i
    for i, hit in enumerate(detections):
        while w < len(windows) and windows[w][1] < i:
            w += 1
        if not hit or i < probation:
            continue
        if w < len(windows) and windows[w][0] <= i <= windows[w][1]:
            if not found[w]:
                left, right = windows[w]
                width = right - left + 1
                total += a_tp * sigmoid(-(right - i + 1) / width) / s_edge
                found[w] = True
            continue
        if w == 0:
            total -= a_fp
            continue
        prev_left, prev_right = windows[w - 1]
        width = prev_right - prev_left + 1
        y = (i - prev_right) / max(width - 1, 1)
        total += a_fp * (-1.0 if y > 3 else sigmoid(y))
    total -= a_fn * found.count(False)
    return total


def normalised(per_series: Iterable[tuple[Sequence[bool], Series]],
               profile: tuple[float, float, float]) -> float:
    """The normalised score (0 = never detect, 100 = perfect) over a set of series."""
    a_tp, _, a_fn = profile
    raw = 0.0
    n_windows = 0
    for detections, series in per_series:
        raw += score_series(detections, series.windows, series.probation, profile)
        n_windows += len(series.windows)
    null, perfect = -a_fn * n_windows, a_tp * n_windows
    return 100.0 * (raw - null) / (perfect - null)
