"""The device table of the Resources card: sortable by a click on a header, a click on a row
picks the device.

HTML in a section of the Resources card (:class:`~fogpanel.dashboard.htmlcard.HTMLCard`)
instead of a Tabulator (a model per column, formatter and editor: ~30 models, and a data-source
replacement per tick that cost more than the rest of the page). The table is rendered once per
message and sort order for every session; clicks come back as ``sort`` (a header's column) and
``pick`` (a row's device) actions.
"""

from __future__ import annotations

import html
from typing import Any

from fogpanel.dashboard.memo import shared

__all__ = ["COLUMNS", "device_rows", "device_table"]

# (key, header, numeric): numeric columns sort largest first.
COLUMNS = [("id", "device", False), ("class", "class", False), ("cpu", "CPU %", True),
           ("memory", "memory %", True), ("storage", "storage %", True),
           ("status", "status", False), ("source", "source", False)]
_NUMERIC = {key for key, _, numeric in COLUMNS if numeric}
_BAR_COLORS = ((90.0, "#d62728"), (70.0, "#e6a100"), (0.0, "#2e9e44"))


def _bar(value: Any) -> str:
    v = max(0.0, min(100.0, float(value or 0.0)))
    color = next(c for limit, c in _BAR_COLORS if v >= limit)
    return (f'<div style="display:inline-block;background:#8883;width:80px;height:9px;'
            f'border-radius:4px;vertical-align:middle"><div style="background:{color};'
            f'width:{v * 0.8:.0f}px;height:9px;border-radius:4px"></div></div> {v:.0f}')


def device_rows(devices: list[dict[str, Any]], sort: str = "cpu", limit: int = 60) -> str:
    """The table body: one row per device (``data-device``), sorted by ``sort``.

    >>> rows = device_rows([{"id": "a", "cpu": 5.0}, {"id": "b", "cpu": 50.0, "real": True}])
    >>> rows.index('data-device="b"') < rows.index('data-device="a"'), "real" in rows
    (True, True)
    """
    key = sort if sort in {k for k, _, _ in COLUMNS} else "cpu"
    if key in _NUMERIC:
        ordered = sorted(devices, key=lambda d: -float(d.get(key) or 0.0))
    else:
        ordered = sorted(devices, key=lambda d: str(d.get(key) or ""))
    rows = []
    for d in ordered[:limit]:
        ident = html.escape(str(d.get("id")))
        cells = "".join(
            f"<td>{_bar(d.get(k)) if k in _NUMERIC else html.escape(str(d.get(k) or '—'))}</td>"
            for k, _, _ in COLUMNS)
        kind = ("<td><b>real</b></td>" if d.get("real") else "<td>simulated</td>")
        rows.append(f'<tr class="fp-device-row" data-action="pick" data-arg="{ident}" '
                    f'data-device="{ident}">{cells}{kind}</tr>')
    return "".join(rows)


_HEAD = "".join(f'<th data-action="sort" data-arg="{k}" data-sort="{k}" '
                f'style="text-align:left">{h}</th>' for k, h, _ in COLUMNS)


@shared
def device_table(devices: list[dict[str, Any]], sort: str = "cpu") -> str:
    """The scrolling table: the headers sort, the rows pick a device."""
    return ('<div data-scroll="devices" style="max-height:300px;overflow-y:auto">'
            '<table class="fp-device-table" style="width:100%;font-size:0.85em;cursor:pointer;'
            f'border-collapse:collapse"><thead><tr>{_HEAD}<th>kind</th></tr></thead>'
            f"<tbody>{device_rows(devices, sort)}</tbody></table></div>")
