"""Simulated fog tasks: Poisson arrivals, a queue, scheduling onto devices, progress, outcomes.

Each task has an amount of work; a running task advances at its device's speed (slower when the
device is busy) and its ETA is computed from the progress rate it actually achieved, so the ETA
is consistent with the progress reported. Tasks fail at a small hazard rate, much higher during a
failure-burst incident, and when their device goes offline.

Examples
--------
>>> import numpy as np
>>> q = TaskQueue(seed=5, rate=2.0)
>>> for t in range(1, 31):
...     q.step(float(t), speed=np.ones(4), cpu=np.zeros(4), slots=np.ones(4, int),
...            online=np.ones(4, bool))
>>> s = q.summary(); s["total"] == s["pending"] + s["running"] + s["completed"] + s["failed"]
True
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from fogpanel.protocol.messages import iso

__all__ = ["Task", "TaskQueue"]

_KINDS = ("inference", "transcode", "sensor-fusion", "backup", "map-tiles", "federated-round")
_FINISHED_KEPT = 100


@dataclass
class Task:
    id: str
    name: str
    work: float
    created: float
    status: str = "pending"
    done: float = 0.0
    device: int | None = None
    start_time: float | None = None
    end_time: float | None = None
    rate: float = 0.0

    @property
    def progress(self) -> float:
        return 100.0 if self.done >= self.work else 100.0 * self.done / self.work

    def eta(self, now: float) -> float | None:
        """When the task should finish at its achieved rate (None before it has one)."""
        if self.status != "running" or self.rate <= 0:
            return None
        return now + (self.work - self.done) / self.rate


class TaskQueue:
    """Tasks from arrival to completion or failure."""

    def __init__(self, seed: int, rate: float, *, failure_per_hour: float = 2.0) -> None:
        self._rng = np.random.default_rng([seed, 3])
        self.rate = rate
        self._hazard = failure_per_hour / 3600.0
        self.burst_until = -math.inf
        self.pending: deque[Task] = deque()
        self.running: dict[str, Task] = {}
        self.finished: deque[Task] = deque(maxlen=_FINISHED_KEPT)
        self.counts = {"total": 0, "completed": 0, "failed": 0}
        self.failed_last_step = 0
        self.failed_rate = 0.0
        self._seq = 0
        self._last: float | None = None
        self._load = np.zeros(0)

    def load(self, n: int) -> np.ndarray:
        """Running tasks per device (for the fleet's CPU model)."""
        if len(self._load) != n:
            self._load = np.zeros(n)
            for task in self.running.values():
                if task.device is not None and task.device < n:
                    self._load[task.device] += 1
        return self._load.copy()

    def step(self, now: float, *, speed: np.ndarray, cpu: np.ndarray, slots: np.ndarray,
             online: np.ndarray) -> None:
        """Advance to ``now`` given the devices' speed, CPU, task slots and liveness."""
        dt = 0.0 if self._last is None else max(0.0, now - self._last)
        self._last = now
        rng = self._rng
        self.load(len(slots))
        arrivals = int(rng.poisson(self.rate * dt))
        if arrivals:
            kinds = rng.integers(len(_KINDS), size=arrivals)
            works = rng.uniform(20, 240, size=arrivals)
            for kind, work in zip(kinds.tolist(), works.tolist(), strict=True):
                self._seq += 1
                self.pending.append(Task(id=f"task-{self._seq:06d}",
                                         name=f"{_KINDS[kind]} #{self._seq}", work=work,
                                         created=now))
            self.counts["total"] += arrivals
        self.failed_last_step = 0
        hazard = self._hazard + (0.15 if now < self.burst_until else 0.0)
        running = list(self.running.values())
        if running:
            # One vectorised draw for every running task, then a light loop to apply it.
            dev = np.fromiter((t.device for t in running), dtype=np.int64, count=len(running))
            fails = ~online[dev] | (rng.random(len(running)) < 1 - math.exp(-hazard * dt))
            rates = speed[dev] * np.maximum(0.1, 1 - cpu[dev] / 150)
            for task, failed, rate in zip(running, fails.tolist(), rates.tolist(), strict=True):
                if failed:
                    self._finish(task, "failed", now)
                    continue
                task.done += rate * dt
                task.rate = 0.7 * task.rate + 0.3 * rate
                if task.done >= task.work:
                    task.done = task.work
                    self._finish(task, "completed", now)
        self.failed_rate = self.failed_last_step / dt if dt else 0.0
        self._schedule(now, slots, online, speed, cpu)

    def _schedule(self, now: float, slots: np.ndarray, online: np.ndarray, speed: np.ndarray,
                  cpu: np.ndarray) -> None:
        if not self.pending:
            return
        free = np.maximum(np.where(online, slots, 0) - self._load, 0).astype(np.int64)
        # Every free slot once, in random order: the first tasks in the queue take them.
        slots_free = self._rng.permutation(np.repeat(np.arange(len(free)), free))
        for i in slots_free[: len(self.pending)].tolist():
            task = self.pending.popleft()
            task.status, task.device, task.start_time = "running", i, now
            # Until it has progressed, the ETA assumes the device's current effective speed.
            task.rate = float(speed[i] * max(0.1, 1 - cpu[i] / 150))
            self.running[task.id] = task
            self._load[i] += 1

    def _finish(self, task: Task, status: str, now: float) -> None:
        task.status, task.end_time = status, now
        if self.running.pop(task.id, None) is not None and task.device is not None:
            self._load[task.device] -= 1
        self.finished.appendleft(task)
        self.counts[status] += 1
        if status == "failed":
            self.failed_last_step += 1

    def summary(self) -> dict[str, int]:
        return {"total": self.counts["total"], "pending": len(self.pending),
                "running": len(self.running), "completed": self.counts["completed"],
                "failed": self.counts["failed"]}

    def rows(self, now: float, device_ids: list[str], limit: int = 50) -> list[dict[str, Any]]:
        """The newest tasks first: running and pending, then recently finished."""
        active = sorted(self.running.values(), key=lambda t: t.created, reverse=True)
        tasks = (active + list(reversed(self.pending)) + list(self.finished))[:limit]
        out = []
        for t in tasks:
            eta = t.eta(now) if t.status == "running" else t.end_time
            out.append({
                "id": t.id, "name": t.name, "status": t.status,
                "progress": round(t.progress, 1),
                "start_time": iso(t.start_time) if t.start_time is not None else None,
                "estimated_completion": iso(eta) if eta is not None else None,
                "device_id": device_ids[t.device] if t.device is not None else None,
            })
        return out
