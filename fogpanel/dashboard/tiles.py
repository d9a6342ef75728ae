"""Figure tiles (a big number over its label) rendered as one HTML string per component.

A Panel ``Number`` indicator is a model of its own and a patch event each time it changes; a
component with seven figures that all change every tick sends one property change instead.

Examples
--------
>>> html = tiles_html([Tile("latency", "Avg latency (ms)", 150.0, "{:.1f}", "#e6a100")])
>>> 'data-key="latency"' in html, "150.0" in html, "#e6a100" in html
(True, True, True)
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Tile", "tiles_html"]


@dataclass(frozen=True)
class Tile:
    """One figure: ``key`` names it for tests and page scripts (``data-key``)."""

    key: str
    label: str
    value: float
    fmt: str = "{:,.0f}"
    color: str | None = None
    size: str = "26pt"


def tiles_html(tiles: Sequence[Tile]) -> str:
    """The tiles in a wrapping row."""
    cells = []
    for tile in tiles:
        color = f"color:{tile.color};" if tile.color else ""
        cells.append(
            f'<div class="fp-tile" data-key="{html.escape(tile.key)}" data-value="{tile.value}" '
            f'style="min-width:110px">'
            f'<div style="font-size:{tile.size};font-weight:600;line-height:1.1;{color}">'
            f"{html.escape(tile.fmt.format(tile.value))}</div>"
            f'<div style="font-size:0.9em;opacity:0.75">{html.escape(tile.label)}</div></div>')
    return ('<div class="fp-tiles" style="display:flex;flex-wrap:wrap;gap:8px 22px">'
            f"{''.join(cells)}</div>")
