"""Resources: device count, CPU/memory gauges, storage, a sortable device table with bars,
real-or-simulated, and a device's history on click.

The card is one :class:`~fogpanel.dashboard.htmlcard.HTMLCard`: figures and gauges, the table
(``sort`` and ``pick`` actions) and the picked device's history are its sections.
"""

from __future__ import annotations

import time
from typing import Any

import param
from panel.viewable import Viewer

from fogpanel.dashboard.card import html_card, title_html
from fogpanel.dashboard.devices import COLUMNS, device_table
from fogpanel.dashboard.htmlcard import HTMLCard
from fogpanel.dashboard.memo import shared
from fogpanel.dashboard.state import DashboardState
from fogpanel.dashboard.svg import gauge, sparkline
from fogpanel.dashboard.tiles import Tile, tiles_html

__all__ = ["Resources", "fleet_html"]

_MEMORY_BANDS = ((0.95, "#d62728"), (0.8, "#e6a100"), (0.0, "#2e9e44"))
_TITLE = title_html("Resources")


@shared
def fleet_html(r: dict[str, Any]) -> str:
    """Device, online and storage tiles beside the average CPU and memory gauges."""
    tiles = tiles_html([
        Tile("devices", "Devices", int(r.get("device_count", 0))),
        Tile("online", "Online", int(r.get("online_devices", 0))),
        Tile("storage", "Storage (TB)", float(r.get("total_storage_gb", 0.0)) / 1000, "{:.1f}")])
    gauges = (gauge("Avg CPU", float(r.get("avg_cpu", 0.0)))
              + gauge("Avg memory", float(r.get("avg_memory", 0.0)), bands=_MEMORY_BANDS))
    return (f'{_TITLE}<div style="display:flex;flex-wrap:wrap;align-items:center;gap:12px">'
            f"<div>{tiles}</div><div>{gauges}</div></div>")


def history_html(svg: str) -> str:
    return f'<div class="fp-device-history">{svg}</div>'


_NO_HISTORY = history_html(sparkline([], width=520, height=120,
                                     label="Click a device to see its CPU history"))


class Resources(Viewer):
    """Fleet figures and the devices."""

    state = param.ClassSelector(class_=DashboardState)
    engine = param.Parameter(default=None, doc="The metrics engine, for device history.")
    sort = param.Selector(default="cpu", objects=[k for k, _, _ in COLUMNS],
                          doc="The device table's sort column (a header click).")
    history = param.String(default=_NO_HISTORY, doc="The picked device's history (HTML).")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.card = html_card("fp-resources")
        self.card.on("sort", self._sort)
        self.card.on("pick", self._show_history)
        self.param.watch(self._update, ["sort", "history"])
        self.state.param.watch(self._update, "resources")
        self._update()

    def _sort(self, column: str) -> None:
        if column in self.param.sort.objects:
            self.sort = column

    def _update(self, *_: Any) -> None:
        r = self.state.resources
        self.card.sections = [fleet_html(r), device_table(r.get("devices_details", []),
                                                          self.sort), self.history]

    def _show_history(self, device: str) -> None:
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
        self.history = history_html(sparkline(list(zip(frame["ts"], frame[column], strict=True)),
                                              width=520, height=120, axis=True,
                                              label=f"{name}, last hour"))

    def __panel__(self) -> HTMLCard:
        return self.card
