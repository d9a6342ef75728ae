"""Service health bookkeeping: per-service status history, uptime over the last hour, composite.

Examples
--------
>>> board = HealthBoard()
>>> board.record("scheduler", "healthy", 12.0, now=0.0)
>>> board.record("scheduler", "unhealthy", 40.0, now=10.0)
>>> snap = board.snapshot(now=10.0)
>>> snap["services"]["scheduler"]["consecutive_failures"], snap["composite_health"]["status"]
(1, 'unhealthy')
"""

from __future__ import annotations

from collections import deque
from typing import Any

from fogpanel.protocol.messages import iso

__all__ = ["HealthBoard"]

_SCORE = {"healthy": 1.0, "degraded": 0.5, "unhealthy": 0.0}
_HOUR = 3600.0


class HealthBoard:
    """Remembers each service's checks for an hour."""

    def __init__(self) -> None:
        self._checks: dict[str, deque[tuple[float, str]]] = {}
        self._last: dict[str, tuple[float, str, float]] = {}
        self._failures: dict[str, int] = {}

    def record(self, service: str, status: str, response_ms: float, now: float) -> None:
        if status not in _SCORE:
            raise ValueError(f"unknown status {status!r}")
        checks = self._checks.setdefault(service, deque())
        checks.append((now, status))
        while checks and checks[0][0] <= now - _HOUR:
            checks.popleft()
        self._last[service] = (now, status, response_ms)
        self._failures[service] = 0 if status == "healthy" else self._failures.get(service, 0) + 1

    def snapshot(self, now: float) -> dict[str, Any]:
        services = {}
        for name, (at, status, response_ms) in self._last.items():
            checks = self._checks[name]
            healthy = sum(1 for _, s in checks if s == "healthy")
            services[name] = {
                "status": status,
                "last_check": iso(at),
                "response_time_ms": round(response_ms, 1),
                "consecutive_failures": self._failures[name],
                "uptime_1h": round(100.0 * healthy / len(checks), 2) if checks else None,
            }
        statuses = [s["status"] for s in services.values()]
        overall = ("unhealthy" if "unhealthy" in statuses
                   else "degraded" if "degraded" in statuses else "healthy")
        score = 100.0 * sum(_SCORE[s] for s in statuses) / len(statuses) if statuses else 100.0
        return {"composite_health": {"status": overall, "score": round(score, 1)},
                "services": services}
