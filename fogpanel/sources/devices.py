"""The simulated device fleet: edge servers, laptops and phones, as numpy columns.

CPU and memory follow a daily pattern (busier in the local afternoon) plus AR(1) noise and the
load of the tasks running on each device; phones and laptops drain their battery while busy and
charge when idle. Columns keep a 5,000-device step to a few milliseconds.

Examples
--------
>>> fleet = Fleet(seed=3, size=10, now=0.0)
>>> fleet.step(now=60.0, task_load=np.zeros(10))
>>> rows = fleet.rows(); len(rows), rows[0]["source"], rows[0]["real"]
(10, 'simulator', False)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["CLASSES", "Fleet"]

# class name -> (share of the fleet, base cpu %, base memory %, storage GB, task slots, speed)
CLASSES: dict[str, tuple[float, float, float, float, int, float]] = {
    "edge_server": (0.3, 35.0, 45.0, 2000.0, 8, 4.0),
    "laptop": (0.35, 20.0, 40.0, 512.0, 3, 2.0),
    "phone": (0.35, 12.0, 35.0, 128.0, 1, 1.0),
}
_NAMES = tuple(CLASSES)


class Fleet:
    """Device state as arrays; ``step(now, task_load)`` advances it."""

    def __init__(self, seed: int, size: int, now: float) -> None:
        rng = np.random.default_rng([seed, 2])
        self._rng = rng
        shares = np.array([CLASSES[c][0] for c in _NAMES])
        self.kind = rng.choice(len(_NAMES), size=size, p=shares / shares.sum())
        self.ids = [f"{_NAMES[k].split('_')[0]}-{i:04d}" for i, k in enumerate(self.kind)]
        spec = np.array([CLASSES[_NAMES[k]] for k in self.kind])
        self.base_cpu = spec[:, 1] * rng.uniform(0.7, 1.3, size)
        self.base_mem = spec[:, 2] * rng.uniform(0.8, 1.2, size)
        self.storage_total = spec[:, 3]
        self.slots = spec[:, 4].astype(int)
        self.speed = spec[:, 5]
        self.phase = rng.uniform(0, 2 * math.pi, size) * 0.15  # devices in nearby time zones
        self.storage_used = self.storage_total * rng.uniform(0.2, 0.7, size)
        self.has_battery = self.kind != _NAMES.index("edge_server")
        self.battery = np.where(self.has_battery, rng.uniform(40, 100, size), np.nan)
        self.noise = np.zeros(size)
        self.runaway = np.zeros(size, dtype=bool)
        self.online = np.ones(size, dtype=bool)
        self.cpu = self.base_cpu.copy()
        self.memory = self.base_mem.copy()
        self._last = now

    @property
    def size(self) -> int:
        return len(self.ids)

    def index(self, device_id: str) -> int:
        return self.ids.index(device_id)

    def step(self, now: float, task_load: np.ndarray) -> None:
        """Advance to ``now``; ``task_load`` is the running-task count per device."""
        dt = max(0.0, now - self._last)
        self._last = now
        if dt == 0:
            return
        rng = self._rng
        n = self.size
        day = 2 * math.pi * ((now % 86400) / 86400)
        # Peak around 15:00 local, trough around 03:00.
        daily = 0.5 + 0.5 * np.sin(day - math.pi / 2 - math.pi / 4 + self.phase)
        keep = math.exp(-dt / 120.0)
        self.noise = self.noise * keep + rng.normal(0, 6.0, n) * math.sqrt(1 - keep * keep)
        busy = np.minimum(task_load / np.maximum(self.slots, 1), 1.0)
        cpu = self.base_cpu * (0.6 + 0.8 * daily) + 40.0 * busy + self.noise
        cpu = np.where(self.runaway, 97.0 + rng.uniform(0, 3, n), cpu)
        self.cpu = np.clip(np.where(self.online, cpu, 0.0), 0.0, 100.0)
        mem = self.base_mem * (0.85 + 0.3 * daily) + 15.0 * busy + self.noise * 0.3
        self.memory = np.clip(np.where(self.online, mem, 0.0), 0.0, 100.0)
        self.storage_used = np.minimum(self.storage_total,
                                       self.storage_used + busy * 0.001 * dt)
        drain = np.where(self.cpu > 30, -0.02 * self.cpu / 50, 0.05) * dt / 6
        self.battery = np.where(self.has_battery, np.clip(self.battery + drain, 5.0, 100.0),
                                np.nan)

    def status(self, i: int) -> str:
        if not self.online[i]:
            return "offline"
        if self.cpu[i] >= 90:
            return "overloaded"
        if self.has_battery[i] and self.battery[i] < 15:
            return "low_battery"
        return "busy" if self.cpu[i] >= 60 else "online"

    def rows(self) -> list[dict[str, Any]]:
        """One dict per device, in the resources room's field names."""
        out = []
        for i, device_id in enumerate(self.ids):
            out.append({
                "id": device_id,
                "class": _NAMES[self.kind[i]],
                "cpu": round(float(self.cpu[i]), 1),
                "memory": round(float(self.memory[i]), 1),
                "storage": round(float(100 * self.storage_used[i] / self.storage_total[i]), 1),
                "storage_total_gb": float(self.storage_total[i]),
                "battery": None if not self.has_battery[i] else round(float(self.battery[i]), 1),
                "status": self.status(i),
                "real": False,
                "source": "simulator",
            })
        return out
