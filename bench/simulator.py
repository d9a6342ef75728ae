"""Simulator step cost: how long one tick of the fog-cluster simulator takes, by fleet size.

Steps a seeded simulator once per simulated second (the default ``sim_tick``) and reports the
median and p99 step time, plus the cost of building the resources payload (every 15 s), for 50
(the default), 500 and 5,000 devices. The tick is 1 s, so a step must stay far below 1,000 ms.

Usage: ``python bench/simulator.py [--steps 300] [--sizes 50,500,5000]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fogpanel.config import Settings  # noqa: E402
from fogpanel.metrics.sink import NullSink  # noqa: E402
from fogpanel.publishers.rooms import RoomPublishers  # noqa: E402
from fogpanel.sources.cluster import Cluster  # noqa: E402
from fogpanel.sources.simulator import Simulator  # noqa: E402


def measure(devices: int, steps: int) -> dict[str, float]:
    sim = Simulator(seed=1, nodes=20, devices=devices, task_rate=3.0 * devices / 50, now=0.0,
                    incident_interval=120.0)
    rooms = RoomPublishers(Cluster(simulator=sim), NullSink(), Settings(secret="b" * 40))
    step_ms, payload_ms = [], []
    for t in range(1, steps + 1):
        started = time.perf_counter()
        rooms.alerts(float(t))
        step_ms.append((time.perf_counter() - started) * 1000)
        if t % 15 == 0:
            started = time.perf_counter()
            rooms.resources(float(t))
            rooms.tasks(float(t))
            payload_ms.append((time.perf_counter() - started) * 1000)
    step_ms.sort()
    return {
        "devices": devices,
        "step_ms_median": round(statistics.median(step_ms), 3),
        "step_ms_p99": round(step_ms[int(0.99 * (len(step_ms) - 1))], 3),
        "resources_and_tasks_payload_ms_median": round(statistics.median(payload_ms), 3),
        "tasks_total": sim.tasks.summary()["total"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--sizes", default="50,500,5000")
    args = parser.parse_args()
    results = [measure(int(n), args.steps) for n in args.sizes.split(",")]
    base = results[0]["step_ms_median"]
    for r in results:
        r["ratio_to_smallest"] = round(r["step_ms_median"] / base, 1) if base else None
    print(json.dumps({"tick_ms": 1000, "results": results}, indent=2))
    print()
    print(f"{'devices':>8}  {'step ms p50':>11}  {'step ms p99':>11}  {'payload ms':>10}")
    for r in results:
        print(f"{r['devices']:>8}  {r['step_ms_median']:>11}  {r['step_ms_p99']:>11}  "
              f"{r['resources_and_tasks_payload_ms_median']:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
