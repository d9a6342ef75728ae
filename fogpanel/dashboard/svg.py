"""Small charts as inline SVG: sparklines for the health strip, node rates and device history,
and the fleet's CPU/memory gauges.

Each Bokeh figure adds about thirty models (ranges, scales, axes, tickers, formatters, grids,
tools) to every session's Document, and every patch the server sends costs time in proportion
to the models in the Document. A sparkline needs none of that: one SVG string in an HTML pane
that is already there. Bokeh figures are kept where interaction matters (the metric chart and
the topology graph).

Examples
--------
>>> svg = sparkline([(0.0, 1.0), (1.0, 3.0), (2.0, 2.0)], width=100, height=20, label="x")
>>> svg.count("<polyline"), 'data-points="3"' in svg
(1, True)
>>> 'data-points="0"' in sparkline([], label="nothing yet")
True
>>> 'data-value="41.3"' in gauge("Avg CPU", 41.26)
True
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Sequence

__all__ = ["gauge", "sparkline"]

# A gauge turns amber, then red, at these shares of its range.
GAUGE_BANDS = ((0.9, "#d62728"), (0.7, "#e6a100"), (0.0, "#2e9e44"))


def sparkline(points: Sequence[tuple[float, float | None]], *, width: int = 220,
              height: int = 48, color: str = "#1f77b4", label: str = "",
              lo: float | None = None, hi: float | None = None, axis: bool = False) -> str:
    """An SVG polyline of ``(epoch seconds, value)`` points scaled into ``width`` × ``height``.

    ``lo``/``hi`` fix the value range (the health score is 0-100); otherwise the points' own
    range is used. ``axis`` adds the value range and the time span as text, for the larger
    device-history chart. Points with a ``None`` value are skipped.
    """
    pts = [(t, v) for t, v in points if v is not None]
    top = 14 if label or axis else 2
    bottom = height - (14 if axis else 2)
    head = (f'<svg class="fp-spark" data-points="{len(pts)}" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(label)}">')
    text = (f'<text x="0" y="11" font-size="11" fill="currentColor">{html.escape(label)}'
            f"{_last(pts)}</text>") if label else ""
    if not pts:
        return f"{head}{text}</svg>"
    t0, t1 = pts[0][0], pts[-1][0]
    v_lo = min(v for _, v in pts) if lo is None else lo
    v_hi = max(v for _, v in pts) if hi is None else hi
    dt, dv = (t1 - t0) or 1.0, (v_hi - v_lo) or 1.0
    coords = " ".join(f"{(t - t0) / dt * (width - 2) + 1:.1f},"
                      f"{bottom - (v - v_lo) / dv * (bottom - top):.1f}" for t, v in pts)
    line = (f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="1.8" '
            'stroke-linejoin="round"/>')
    extra = ""
    if axis:
        start, end = (time.strftime("%H:%M", time.localtime(t)) for t in (t0, t1))
        extra = (f'<text x="{width}" y="11" font-size="10" text-anchor="end" '
                 f'fill="currentColor">{v_lo:.4g} – {v_hi:.4g}</text>'
                 f'<text x="0" y="{height - 2}" font-size="10" fill="currentColor">{start}</text>'
                 f'<text x="{width}" y="{height - 2}" font-size="10" text-anchor="end" '
                 f'fill="currentColor">{end}</text>')
    return f"{head}{text}{line}{extra}</svg>"


def _last(pts: list[tuple[float, float]]) -> str:
    return f" · {pts[-1][1]:.4g}" if pts else ""


def gauge(label: str, value: float, *, hi: float = 100.0, unit: str = "%", size: int = 150,
          bands: tuple[tuple[float, str], ...] = GAUGE_BANDS) -> str:
    """A half-circle gauge of ``value`` in 0..``hi``, coloured by the band it reaches."""
    share = max(0.0, min(1.0, float(value) / hi)) if hi else 0.0
    color = next(c for limit, c in bands if share >= limit)
    r, cx, cy = size / 2 - 10, size / 2, size / 2 + 4
    angle = math.pi * (1 - share)
    x, y = cx + r * math.cos(angle), cy - r * math.sin(angle)
    arc = f"M {cx - r:.1f} {cy:.1f} A {r:.1f} {r:.1f} 0 0 1"
    return (f'<svg class="fp-gauge" data-label="{html.escape(label)}" '
            f'data-value="{round(float(value), 1)}" width="{size}" height="{size // 2 + 34}" '
            f'role="img" aria-label="{html.escape(label)}">'
            f'<path d="{arc} {cx + r:.1f} {cy:.1f}" fill="none" stroke="#8884" '
            f'stroke-width="14"/>'
            f'<path d="{arc} {x:.1f} {y:.1f}" fill="none" stroke="{color}" stroke-width="14"/>'
            f'<text x="{cx}" y="{cy - 4}" font-size="20" text-anchor="middle" '
            f'fill="currentColor">{float(value):.1f}{html.escape(unit)}</text>'
            f'<text x="{cx}" y="{cy + 22}" font-size="12" text-anchor="middle" '
            f'fill="currentColor">{html.escape(label)}</text></svg>')
