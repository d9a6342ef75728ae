"""From anomaly scores to anomaly alerts: one frozen threshold and a cool-down per series.

NAB's scoring, like an operator's pager, charges every alert outside an anomaly window, so a
detector that stays above threshold for twenty samples must alert once, not twenty times. The
gate fires when the score crosses the threshold and then stays quiet for ``cooldown`` samples.

Examples
--------
>>> gate = AnomalyGate(threshold=0.5, cooldown=3)
>>> [gate.check(s) for s in (0.1, 0.9, 0.9, 0.9, 0.9, 0.9)]
[False, True, False, False, True, False]
"""

from __future__ import annotations

__all__ = ["THRESHOLD", "AnomalyGate"]

THRESHOLD = 0.5


class AnomalyGate:
    """Threshold + cool-down (counted in samples of the series)."""

    __slots__ = ("cooldown", "since", "threshold")

    def __init__(self, threshold: float = THRESHOLD, cooldown: int = 20) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.since = cooldown  # samples since the last alert; a first alert may fire at once

    def check(self, score: float) -> bool:
        """Whether this sample raises an anomaly alert."""
        if score >= self.threshold and self.since >= self.cooldown:
            self.since = 1
            return True
        self.since += 1
        return False
