"""TaskProgress: summary tiles and a filterable task table with progress bars, newest first."""

from __future__ import annotations

from typing import Any

import pandas as pd
import panel as pn
import param
from panel.viewable import Viewer

from fogpanel.dashboard.state import DashboardState

__all__ = ["TaskProgress", "tasks_frame"]

_COLUMNS = ["id", "name", "status", "progress", "start_time", "estimated_completion", "device_id"]
_STATUS = ["all", "pending", "running", "completed", "failed"]


def tasks_frame(tasks: list[dict[str, Any]], status: str = "all") -> pd.DataFrame:
    """Tasks as a table, filtered by status ("all" keeps every task), in the given order."""
    rows = [t for t in tasks if status == "all" or t.get("status") == status]
    return pd.DataFrame([{c: t.get(c) for c in _COLUMNS} for t in rows], columns=_COLUMNS)


class TaskProgress(Viewer):
    """Task counts and the task list."""

    state = param.ClassSelector(class_=DashboardState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.tiles = {k: pn.indicators.Number(label=k.title(), value=0, font_size="24pt")
                      for k in ("total", "pending", "running", "completed", "failed")}
        self.filter = pn.widgets.RadioButtonGroup(label="Status", options=_STATUS, value="all")
        self.table = pn.widgets.Tabulator(
            tasks_frame([]), show_index=False, disabled=True, height=300,
            sizing_mode="stretch_width", pagination=None,
            formatters={"progress": {"type": "progress", "max": 100, "legend": True}},
            css_classes=["fp-task-table"])
        self.state.param.watch(self._update, ["tasks", "task_summary"])
        self.filter.param.watch(self._update, "value")
        self._update()

    def _update(self, *_: Any) -> None:
        for key, tile in self.tiles.items():
            tile.value = int(self.state.task_summary.get(key, 0))
        self.table.value = tasks_frame(self.state.tasks, self.filter.value)

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Card(pn.Row(*self.tiles.values()), self.filter, self.table,
                       title="Tasks", sizing_mode="stretch_width", collapsible=False,
                       css_classes=["fp-task-progress"])
