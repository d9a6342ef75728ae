"""Resources: device count, CPU/memory gauges, storage, a sortable device table with bars,
real-or-simulated, and a device's history on click."""

from __future__ import annotations

import time
from typing import Any

import panel as pn
import param
from panel.viewable import Viewer

from fogpanel.dashboard.card import card
from fogpanel.dashboard.devices import DeviceTable, device_rows
from fogpanel.dashboard.livehtml import LiveHTML
from fogpanel.dashboard.memo import shared
from fogpanel.dashboard.state import DashboardState
from fogpanel.dashboard.svg import gauge, sparkline
from fogpanel.dashboard.tiles import Tile, tiles_html

__all__ = ["Resources", "fleet_html"]

_MEMORY_BANDS = ((0.95, "#d62728"), (0.8, "#e6a100"), (0.0, "#2e9e44"))


@shared
def fleet_html(r: dict[str, Any]) -> str:
    """Device, online and storage tiles beside the average CPU and memory gauges."""
    tiles = tiles_html([
        Tile("devices", "Devices", int(r.get("device_count", 0))),
        Tile("online", "Online", int(r.get("online_devices", 0))),
        Tile("storage", "Storage (TB)", float(r.get("total_storage_gb", 0.0)) / 1000, "{:.1f}")])
    gauges = (gauge("Avg CPU", float(r.get("avg_cpu", 0.0)))
              + gauge("Avg memory", float(r.get("avg_memory", 0.0)), bands=_MEMORY_BANDS))
    return (f'<div style="display:flex;flex-wrap:wrap;align-items:center;gap:12px">'
            f"<div>{tiles}</div><div>{gauges}</div></div>")


class Resources(Viewer):
    """Fleet figures and the devices."""

    state = param.ClassSelector(class_=DashboardState)
    engine = param.Parameter(default=None, doc="The metrics engine, for device history.")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.fleet = LiveHTML("", sizing_mode="stretch_width")
        self.table = DeviceTable(sizing_mode="stretch_width")
        self.history = LiveHTML(
            sparkline([], width=520, height=120, label="Click a device to see its CPU history"),
            css_classes=["fp-device-history"])
        self.table.param.watch(self._show_history, "picked")
        self.table.param.watch(self._update, "sort")
        self.state.param.watch(self._update, "resources")
        self._update()

    def _update(self, *_: Any) -> None:
        r = self.state.resources
        self.fleet.object = fleet_html(r)
        self.table.rows = [device_rows(r.get("devices_details", []), self.table.sort)]

    def _show_history(self, *_: Any) -> None:
        device = self.table.picked
        if not device or self.engine is None:
            return
        name = f"device.{device}.cpu_usage"
        reader = self.engine.reader()
        if reader is None:
            return
        now = time.time()
        try:
            frame = reader.query(name, now - 3600, now)
        finally:
            reader.close()
        column = "value" if "value" in frame else "avg"
        self.history.object = sparkline(list(zip(frame["ts"], frame[column], strict=True)),
                                        width=520, height=120, axis=True,
                                        label=f"{name}, last hour")

    def __panel__(self) -> pn.viewable.Viewable:
        return card("Resources", self.fleet, self.table, self.history, css_class="fp-resources")
