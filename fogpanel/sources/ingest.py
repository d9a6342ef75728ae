"""Agent reports: validate ingest batches item by item, and keep the reporting devices.

``POST /api/ingest`` takes ``{"reports": [report, ...]}`` (or one bare report). A report is
``{"node_id", "timestamp", "metrics": {name: number}, "status"?, "device_class"?}`` with the
timestamp as epoch seconds or ISO 8601. Each invalid report is refused with the field that is
wrong; the valid ones in the same batch are kept. Timestamps too far in the future or past are
refused per report. A device that stops reporting goes ``stale``, then ``offline``.

Examples
--------
>>> reg = AgentRegistry(stale_after=30, offline_after=120)
>>> ok, errors = validate_batch({"reports": [
...     {"node_id": "edge-1", "timestamp": 100.0, "metrics": {"cpu_usage": 12.5}},
...     {"node_id": "edge-2", "timestamp": 100.0, "metrics": {"cpu_usage": "high"}}]}, now=100.0)
>>> [r.node_id for r in ok], errors[0]["field"]
(['edge-1'], 'reports[1].metrics.cpu_usage')
>>> reg.accept(ok[0], reported_by="agent-a", now=100.0); reg.devices(now=200.0)[0]["status"]
'stale'
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["AgentRegistry", "Report", "validate_batch"]

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_STATUSES = ("online", "busy", "degraded", "maintenance", "offline")
MAX_REPORTS = 1000
MAX_METRICS = 200


@dataclass(frozen=True)
class Report:
    """One validated agent report."""

    node_id: str
    timestamp: float
    metrics: dict[str, float]
    status: str | None = None
    device_class: str = "agent"


def _timestamp(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _check(item: Any, where: str, now: float, max_future: float,
           max_age: float) -> tuple[Report | None, dict[str, str] | None]:
    def bad(field: str, error: str) -> tuple[None, dict[str, str]]:
        return None, {"field": f"{where}{field}", "error": error}

    if not isinstance(item, dict):
        return bad("", "must be an object")
    node_id = item.get("node_id")
    if not isinstance(node_id, str) or not _NAME_RE.match(node_id):
        return bad(".node_id", "must be 1-128 characters of letters, digits, . _ : -")
    if "timestamp" not in item:
        return bad(".timestamp", "is required")
    ts = _timestamp(item["timestamp"])
    if ts is None:
        return bad(".timestamp", "must be epoch seconds or an ISO 8601 time")
    if ts > now + max_future:
        return bad(".timestamp", f"is more than {max_future:.0f} s in the future")
    if ts < now - max_age:
        return bad(".timestamp", f"is more than {max_age:.0f} s in the past")
    metrics = item.get("metrics")
    if not isinstance(metrics, dict) or not metrics:
        return bad(".metrics", "must be a non-empty object of name: number")
    if len(metrics) > MAX_METRICS:
        return bad(".metrics", f"must hold at most {MAX_METRICS} metrics")
    clean: dict[str, float] = {}
    for name, value in metrics.items():
        if not _NAME_RE.match(name):
            return bad(f".metrics.{name[:64]}", "is not a valid metric name")
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value):
            return bad(f".metrics.{name}", "must be a finite number")
        clean[name] = float(value)
    status = item.get("status")
    if status is not None and status not in _STATUSES:
        return bad(".status", f"must be one of {', '.join(_STATUSES)}")
    device_class = item.get("device_class", "agent")
    if not isinstance(device_class, str) or not _NAME_RE.match(device_class):
        return bad(".device_class", "must be a short name")
    return Report(node_id, ts, clean, status, device_class), None


def validate_batch(
    body: Any, *, now: float, max_future: float = 300.0, max_age: float = 3600.0
) -> tuple[list[Report], list[dict[str, str]]]:
    """The valid reports of ``body`` and one error (field, error) per invalid one."""
    if not isinstance(body, dict):
        return [], [{"field": "body", "error": "must be a JSON object"}]
    if "reports" not in body:
        items, prefix = [body], "report"
        wheres = [prefix]
    else:
        items = body["reports"]
        if not isinstance(items, list) or not items:
            return [], [{"field": "reports", "error": "must be a non-empty list"}]
        if len(items) > MAX_REPORTS:
            return [], [{"field": "reports", "error": f"must hold at most {MAX_REPORTS}"}]
        wheres = [f"reports[{i}]" for i in range(len(items))]
    ok: list[Report] = []
    errors: list[dict[str, str]] = []
    for item, where in zip(items, wheres, strict=True):
        report, error = _check(item, where, now, max_future, max_age)
        if report is not None:
            ok.append(report)
        if error is not None:
            errors.append(error)
    return ok, errors


@dataclass
class _Device:
    report: Report
    reported_by: str
    last_seen: float


class AgentRegistry:
    """Devices known from agent reports, with staleness decided by ``now``."""

    def __init__(self, stale_after: float, offline_after: float) -> None:
        self.stale_after = stale_after
        self.offline_after = offline_after
        self._devices: dict[str, _Device] = {}
        self.reports_accepted = 0

    def accept(self, report: Report, *, reported_by: str, now: float) -> None:
        current = self._devices.get(report.node_id)
        if current is not None and current.report.timestamp > report.timestamp:
            self.reports_accepted += 1  # an older report: counted, but the newer one stays
            return
        self._devices[report.node_id] = _Device(report, reported_by, now)
        self.reports_accepted += 1

    def report(self, node_id: str) -> Report | None:
        """The latest report kept for ``node_id``."""
        dev = self._devices.get(node_id)
        return None if dev is None else dev.report

    def status(self, node_id: str, now: float) -> str:
        dev = self._devices[node_id]
        age = now - dev.last_seen
        if age >= self.offline_after:
            return "offline"
        if age >= self.stale_after:
            return "stale"
        if dev.report.status:
            return dev.report.status
        cpu = dev.report.metrics.get("cpu_usage", 0.0)
        return "overloaded" if cpu >= 90 else "busy" if cpu >= 60 else "online"

    def live_count(self, now: float) -> int:
        return sum(1 for d in self._devices if self.status(d, now) not in ("stale", "offline"))

    def devices(self, now: float) -> list[dict[str, Any]]:
        out = []
        for node_id, dev in self._devices.items():
            m = dev.report.metrics
            out.append({
                "id": node_id,
                "class": dev.report.device_class,
                "cpu": round(m.get("cpu_usage", 0.0), 1),
                "memory": round(m.get("memory_usage", 0.0), 1),
                "storage": round(m.get("storage_usage", 0.0), 1),
                "storage_total_gb": m.get("storage_total_gb", 0.0),
                "battery": m.get("battery"),
                "status": self.status(node_id, now),
                "real": True,
                "source": "agent",
                "reported_by": dev.reported_by,
                "last_seen": round(dev.last_seen, 3),
            })
        return out
