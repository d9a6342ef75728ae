"""Resources: device count, CPU/memory gauges, storage, a sortable device table with bars,
real-or-simulated, and a device's history on click."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
import panel as pn
import param
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure
from panel.viewable import Viewer

from fogpanel.dashboard.state import DashboardState

__all__ = ["Resources", "devices_frame"]

_COLUMNS = ["id", "class", "cpu", "memory", "storage", "status", "source", "real"]


def devices_frame(devices: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([{c: d.get(c) for c in _COLUMNS} for d in devices], columns=_COLUMNS)


class Resources(Viewer):
    """Fleet figures and the busiest devices."""

    state = param.ClassSelector(class_=DashboardState)
    engine = param.Parameter(default=None, doc="The metrics engine, for device history.")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.count = pn.indicators.Number(label="Devices", value=0, font_size="28pt")
        self.online = pn.indicators.Number(label="Online", value=0, font_size="28pt")
        self.storage = pn.indicators.Number(label="Storage (TB)", value=0.0,
                                            format="{value:.1f}", font_size="28pt")
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
        self.history_source = ColumnDataSource({"t": [], "value": []})
        fig = figure(height=180, x_axis_type="datetime", sizing_mode="stretch_width",
                     title="Click a device to see its CPU history", toolbar_location=None)
        fig.line("t", "value", source=self.history_source, line_width=2)
        self._history_fig = fig
        self.table.param.watch(self._show_history, "selection")
        self.state.param.watch(self._update, "resources")
        self._update()

    def _update(self, *_: Any) -> None:
        r = self.state.resources
        self.count.value = int(r.get("device_count", 0))
        self.online.value = int(r.get("online_devices", 0))
        self.storage.value = float(r.get("total_storage_gb", 0.0)) / 1000
        self.cpu.value = round(float(r.get("avg_cpu", 0.0)), 1)
        self.memory.value = round(float(r.get("avg_memory", 0.0)), 1)
        self.table.value = devices_frame(r.get("devices_details", []))

    def _show_history(self, *_: Any) -> None:
        if not self.table.selection or self.engine is None:
            return
        device = self.table.value.iloc[self.table.selection[0]]["id"]
        name = f"device.{device}.cpu_usage"
        self._history_fig.title.text = f"{name}, last hour"
        reader = self.engine.reader()
        if reader is None:
            return
        now = time.time()
        try:
            frame = reader.query(name, now - 3600, now)
        finally:
            reader.close()
        self.history_source.data = {"t": pd.to_datetime(frame["ts"], unit="s").tolist(),
                                    "value": frame["value"].tolist()}

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Card(pn.Row(self.count, self.online, self.storage, self.cpu, self.memory),
                       self.table, pn.pane.Bokeh(self._history_fig, sizing_mode="stretch_width"),
                       title="Resources", sizing_mode="stretch_width", collapsible=False,
                       css_classes=["fp-resources"])
