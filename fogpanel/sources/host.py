"""The machine the server runs on, as a real device (psutil).

``cpu_percent(interval=None)`` compares with the previous call, so reading it never blocks the
event loop; the first reading after start is 0 and is replaced at the next tick.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import psutil

__all__ = ["HostSource", "read_metrics"]


def read_metrics() -> dict[str, float]:
    """This machine's metrics in fogpanel's names (percentages, bytes, load)."""
    mem = psutil.virtual_memory()
    disk = psutil.disk_usage(os.path.abspath(os.sep))
    net = psutil.net_io_counters()
    load1, load5, load15 = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    metrics = {
        "cpu_usage": float(psutil.cpu_percent(interval=None)),
        "memory_usage": float(mem.percent),
        "storage_usage": float(disk.percent),
        "storage_total_gb": round(disk.total / 1e9, 1),
        "net_bytes_sent": float(net.bytes_sent) if net else 0.0,
        "net_bytes_recv": float(net.bytes_recv) if net else 0.0,
        "load_1m": float(load1),
        "load_5m": float(load5),
        "load_15m": float(load15),
        "cpu_count": float(psutil.cpu_count() or 1),
    }
    battery = psutil.sensors_battery() if hasattr(psutil, "sensors_battery") else None
    if battery is not None:
        metrics["battery"] = float(battery.percent)
    return metrics


class HostSource:
    """The server's own host as a device row."""

    def __init__(self) -> None:
        self.device_id = f"host-{socket.gethostname()}"
        self.metrics: dict[str, float] = {}
        psutil.cpu_percent(interval=None)  # prime the CPU counter

    def step(self) -> None:
        self.metrics = read_metrics()

    def device(self) -> dict[str, Any]:
        m = self.metrics or {"cpu_usage": 0.0, "memory_usage": 0.0, "storage_usage": 0.0}
        cpu = m.get("cpu_usage", 0.0)
        return {
            "id": self.device_id,
            "class": "host",
            "cpu": round(cpu, 1),
            "memory": round(m.get("memory_usage", 0.0), 1),
            "storage": round(m.get("storage_usage", 0.0), 1),
            "storage_total_gb": m.get("storage_total_gb", 0.0),
            "battery": m.get("battery"),
            "status": "overloaded" if cpu >= 90 else "busy" if cpu >= 60 else "online",
            "real": True,
            "source": "host",
            "load_1m": m.get("load_1m"),
        }
