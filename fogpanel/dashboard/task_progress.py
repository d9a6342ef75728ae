"""TaskProgress: summary tiles and a filterable task table with progress bars, newest first.

The whole card is one :class:`~fogpanel.dashboard.htmlcard.HTMLCard`: tiles, the status filter
(buttons whose clicks come back as ``filter`` actions) and the table are HTML rendered once per
message and status for every session. The table changes every tick (progress moves); a Tabulator
whose data was replaced that often cost ~3 % of a core per open session.
"""

from __future__ import annotations

import html
from typing import Any

import param
from panel.viewable import Viewer

from fogpanel.dashboard.card import html_card, title_html
from fogpanel.dashboard.htmlcard import HTMLCard
from fogpanel.dashboard.memo import shared
from fogpanel.dashboard.state import DashboardState
from fogpanel.dashboard.tiles import Tile, tiles_html

__all__ = ["TaskProgress", "filter_html", "tasks_html"]

_STATUS = ["all", "pending", "running", "completed", "failed"]
_TITLE = title_html("Tasks")


_STATUS_COLORS = {"running": "#1f77b4", "pending": "#7f7f7f", "completed": "#2e9e44",
                  "failed": "#d62728"}


@shared
def tasks_html(tasks: list[dict[str, Any]], status: str = "all", limit: int = 50) -> str:
    """The task table as HTML with progress bars (newest first, as given)."""
    rows = []
    for t in tasks:
        if status != "all" and t.get("status") != status:
            continue
        progress = float(t.get("progress") or 0.0)
        color = _STATUS_COLORS.get(str(t.get("status")), "#7f7f7f")
        cells = [html.escape(str(t.get(c) or "")) for c in ("id", "name")]
        rows.append(
            f'<tr class="fp-task-row" data-status="{html.escape(str(t.get("status")))}">'
            f"<td>{cells[0]}</td><td>{cells[1]}</td>"
            f'<td style="color:{color}">{html.escape(str(t.get("status")))}</td>'
            f'<td><div style="background:#8883;width:120px;height:10px;border-radius:5px">'
            f'<div style="background:{color};width:{progress * 1.2:.0f}px;height:10px;'
            f'border-radius:5px"></div></div>{progress:.0f}%</td>'
            f'<td>{html.escape(str(t.get("start_time") or "—"))}</td>'
            f'<td>{html.escape(str(t.get("estimated_completion") or "—"))}</td></tr>')
        if len(rows) >= limit:
            break
    head = "".join(f"<th style='text-align:left'>{h}</th>" for h in
                   ("id", "name", "status", "progress", "started", "ETA"))
    return (f'<div class="fp-task-table" data-scroll="tasks" style="max-height:300px;'
            f'overflow-y:auto"><table class="fp-task-rows" style="width:100%;font-size:0.85em">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")


@shared
def summary_tiles(summary: dict[str, Any]) -> str:
    return tiles_html([Tile(key, key.title(), int(summary.get(key, 0)),
                            color=_STATUS_COLORS.get(key))
                       for key in ("total", "pending", "running", "completed", "failed")])


@shared
def filter_html(status: str) -> str:
    """The status filter: one button per status, the chosen one pressed."""
    buttons = "".join(
        f'<button class="fp-task-filter" data-action="filter" data-arg="{name}" '
        f'aria-pressed="{str(name == status).lower()}" style="padding:3px 12px;margin:0;'
        f'border:1px solid #8886;cursor:pointer;color:inherit;'
        f'background:{"#1f77b4" if name == status else "transparent"};'
        f'{"color:white;" if name == status else ""}">{name}</button>'
        for name in _STATUS)
    return f'<div style="display:flex;margin:8px 0">{buttons}</div>'


class TaskProgress(Viewer):
    """Task counts and the task list."""

    state = param.ClassSelector(class_=DashboardState)
    status = param.Selector(default="all", objects=_STATUS, doc="The status the table shows.")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.card = html_card("fp-task-progress")
        self.card.on("filter", self._filter)
        self.state.param.watch(self._update, ["tasks", "task_summary"])
        self.param.watch(self._update, "status")
        self._update()

    def _filter(self, status: str) -> None:
        if status in _STATUS:
            self.status = status

    def _update(self, *_: Any) -> None:
        self.card.sections = [_TITLE, summary_tiles(self.state.task_summary),
                              filter_html(self.status),
                              tasks_html(self.state.tasks, self.status)]

    def __panel__(self) -> HTMLCard:
        return self.card
