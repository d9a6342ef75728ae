"""Resources: device count, CPU/memory gauges, storage, a sortable device table with bars,
real-or-simulated, and a device's history on click."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
import panel as pn
import param
from panel.viewable import Viewer

from fogpanel.dashboard.livehtml import LiveHTML
from fogpanel.dashboard.memo import shared
from fogpanel.dashboard.state import DashboardState
from fogpanel.dashboard.svg import sparkline
from fogpanel.dashboard.tiles import Tile, tiles_html

__all__ = ["Resources", "devices_frame"]

_COLUMNS = ["id", "class", "cpu", "memory", "storage", "status", "source", "real"]


def devices_frame(devices: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([{c: d.get(c) for c in _COLUMNS} for d in devices], columns=_COLUMNS)


@shared
def fleet_tiles(r: dict[str, Any]) -> str:
    return tiles_html([
        Tile("devices", "Devices", int(r.get("device_count", 0))),
        Tile("online", "Online", int(r.get("online_devices", 0))),
        Tile("storage", "Storage (TB)", float(r.get("total_storage_gb", 0.0)) / 1000, "{:.1f}")])


class Resources(Viewer):
    """Fleet figures and the busiest devices."""

    state = param.ClassSelector(class_=DashboardState)
    engine = param.Parameter(default=None, doc="The metrics engine, for device history.")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.tiles = LiveHTML("")
        self.cpu = pn.indicators.Gauge(label="Avg CPU", value=0, bounds=(0, 100), format="{value}%",
                                       colors=[(0.7, "#2e9e44"), (0.9, "#e6a100"),
                                               (1, "#d62728")], height=180, width=180)
        self.memory = pn.indicators.Gauge(label="Avg memory", value=0, bounds=(0, 100),
                                          format="{value}%", height=180, width=180,
                                          colors=[(0.8, "#2e9e44"), (0.95, "#e6a100"),
                                                  (1, "#d62728")])
        bar = {"type": "progress", "max": 100, "legend": True}
        self.table = pn.widgets.Tabulator(
            devices_frame([]), show_index=False, disabled=True, height=300, selectable=1,
            sizing_mode="stretch_width", formatters={"cpu": bar, "memory": bar, "storage": bar,
                                                     "real": {"type": "tickCross"}},
            css_classes=["fp-device-table"])
        self.history = LiveHTML(
            sparkline([], width=520, height=120, label="Click a device to see its CPU history"),
            css_classes=["fp-device-history"])
        self.table.param.watch(self._show_history, "selection")
        self.state.param.watch(self._update, "resources")
        self._update()

    def _update(self, *_: Any) -> None:
        r = self.state.resources
        self.tiles.object = fleet_tiles(r)
        self.cpu.value = round(float(r.get("avg_cpu", 0.0)), 1)
        self.memory.value = round(float(r.get("avg_memory", 0.0)), 1)
        self.table.value = devices_frame(r.get("devices_details", []))

    def _show_history(self, *_: Any) -> None:
        if not self.table.selection or self.engine is None:
            return
        device = self.table.value.iloc[self.table.selection[0]]["id"]
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
        return pn.Card(pn.Row(self.tiles, self.cpu, self.memory),
                       self.table, self.history,
                       title="Resources", sizing_mode="stretch_width", collapsible=False,
                       css_classes=["fp-resources"])
