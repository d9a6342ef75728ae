"""A history store filled with a week of the simulator's metrics, for notebooks and tests.

The samples go through the real pipeline: the room payload builders step the seeded simulator
and record into a :class:`MetricsEngine` (windows, anomaly detectors, threshold rules) whose
writer fills a fresh SQLite file; only the clock is simulated, so a week takes seconds. The
alerts raised on the way are returned with the simulated time they fired at.

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "demo.sqlite"
>>> demo = build_demo_history(path, days=0.05, step=60.0, end=1_800_000_000.0)
>>> "betanet.avg_latency_ms" in demo.series, len(demo.devices)
(True, 6)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fogpanel.config import Settings
from fogpanel.metrics.aggregator import DEFAULT_DETECTORS, Aggregator, parse_detector_rules
from fogpanel.metrics.engine import MetricsEngine
from fogpanel.metrics.rules import DEFAULT_RULES, RuleEngine
from fogpanel.metrics.store import HistoryStore, StoreWriter
from fogpanel.publishers.rooms import RoomPublishers
from fogpanel.sources.cluster import build_cluster

__all__ = ["DemoHistory", "build_demo_history"]


@dataclass
class DemoHistory:
    """What was generated: the file, the time span, the devices, the alerts raised."""

    path: Path
    start: float
    end: float
    devices: list[str]
    alerts: list[dict[str, Any]] = field(default_factory=list)
    series: list[str] = field(default_factory=list)


def build_demo_history(path: str | Path, *, days: float = 7.0, step: float = 300.0,
                       devices: int = 6, nodes: int = 8, seed: int = 7,
                       end: float | None = None) -> DemoHistory:
    """Simulate ``days`` up to ``end`` (default now), one tick every ``step`` seconds."""
    path = Path(path)
    end = time.time() if end is None else end
    start = end - days * 86400.0
    settings = Settings(secret="demo-history-" + "x" * 32, history_path=str(path),
                        sources=("simulator",), sim_devices=devices, sim_nodes=nodes,
                        seed=seed, incident_interval=6 * 3600.0)
    clock = [start]
    demo = DemoHistory(path, start, end, [])
    engine = MetricsEngine(
        Aggregator(detector_rules=parse_detector_rules(DEFAULT_DETECTORS)),
        StoreWriter(path), demo.alerts.append, rules=RuleEngine(list(DEFAULT_RULES)),
        clock=lambda: clock[0])
    cluster = build_cluster(settings, now=start)
    rooms = RoomPublishers(cluster, engine, settings, alert_filter=engine.keep)
    try:
        now = start
        while now <= end:
            clock[0] = now
            rooms.alerts(now)
            rooms.nodes(now)
            rooms.metrics(now)
            rooms.resources(now)
            now += step
    finally:
        engine.close()
    demo.devices = sorted(d["id"] for d in cluster.devices(end) if d["source"] == "simulator")
    store = HistoryStore(path, readonly=True)
    try:
        demo.series = store.names()
    finally:
        store.close()
    return demo
