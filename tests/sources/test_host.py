"""The host source reads this machine for real."""

from __future__ import annotations

import psutil

from fogpanel.sources.host import HostSource, read_metrics


def test_read_metrics_are_this_machines():
    """Memory and disk percentages match psutil; load and CPU count are present."""
    m = read_metrics()
    assert 0 <= m["cpu_usage"] <= 100
    assert abs(m["memory_usage"] - psutil.virtual_memory().percent) < 10
    assert m["storage_total_gb"] > 0 and m["cpu_count"] == psutil.cpu_count()
    assert {"net_bytes_sent", "net_bytes_recv", "load_1m"} <= set(m)


def test_host_device_is_real():
    """The host appears as a real device from the host source."""
    host = HostSource()
    host.step()
    row = host.device()
    assert row["real"] is True and row["source"] == "host" and row["class"] == "host"
    assert row["id"].startswith("host-") and row["memory"] > 0
