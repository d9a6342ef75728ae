"""LiveMetrics: composite health, every service, an hour of health, and a live metric chart.

The chart streams the chosen metric into a ``ColumnDataSource`` with rollover as samples arrive;
ranges beyond the live window (1 hour to 7 days) are loaded from the history store.
"""

from __future__ import annotations

import html
import time
from typing import Any

import numpy as np
import panel as pn
import param
from bokeh.models import (
    AdaptiveTicker,
    ColumnDataSource,
    DatetimeTicker,
    DaysTicker,
    GlyphRenderer,
    Line,
    MonthsTicker,
)
from bokeh.plotting import figure
from panel.viewable import Viewer

from fogpanel.dashboard.card import card, title_html
from fogpanel.dashboard.htmlcard import HTMLCard
from fogpanel.dashboard.memo import shared
from fogpanel.dashboard.state import HEALTH_COLORS, DashboardState
from fogpanel.dashboard.svg import sparkline

__all__ = ["LiveMetrics", "RANGES", "health_badge", "metric_names", "services_html"]

RANGES = {"5 min (live)": 300, "1 hour": 3600, "24 hours": 86400, "7 days": 7 * 86400}
_ROLLOVER = 2000


@shared
def health_badge(health: dict[str, Any]) -> str:
    """HTML for the composite health (colour by status, never grey for a known status)."""
    status = health.get("status", "unknown")
    color = HEALTH_COLORS.get(status, "#888888")
    score = health.get("score")
    score_txt = "" if score is None else f" · {score:.0f}/100"
    return (f'<div class="fp-health" data-status="{status}" style="background:{color};'
            f'color:white;padding:8px 14px;border-radius:8px;font-size:1.3em;font-weight:600">'
            f"{status.upper()}{score_txt}</div>")


@shared
def services_html(services: dict[str, dict[str, Any]]) -> str:
    """Every service with its own coloured status, last check, response time, failures and
    uptime, as one HTML table (it changes every metrics tick; a Tabulator would add a dozen
    models to each session for a read-only board).

    >>> 'data-status="degraded"' in services_html({"db": {"status": "degraded"}})
    True
    """
    rows = []
    for name, s in sorted(services.items()):
        status = str(s.get("status", "unknown"))
        color = HEALTH_COLORS.get(status, "#888888")
        cells = [_cell(s.get(k)) for k in ("last_check", "response_time_ms",
                                            "consecutive_failures", "uptime_1h")]
        rows.append(f'<tr class="fp-service" data-status="{html.escape(status)}">'
                    f"<td>{html.escape(name)}</td>"
                    f'<td style="color:{color};font-weight:600">● {html.escape(status)}</td>'
                    + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th style='text-align:left'>{h}</th>" for h in
                   ("service", "status", "last check", "response ms", "failures", "uptime 1h %"))
    return (f'<div data-scroll="services" style="max-height:220px;overflow-y:auto">'
            f'<table class="fp-services" style="width:100%;font-size:0.85em">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.1f}"
    return html.escape(str(value))


def time_ticker() -> DatetimeTicker:
    """Tick spacings for 5 minutes to 7 days (and zooming out to months). Bokeh's default
    datetime ticker carries twelve tickers, from milliseconds to years, each a model in every
    session's Document."""
    return DatetimeTicker(tickers=[
        # Milliseconds: BokehJS needs a ticker down to 0 (an empty chart has a tiny range).
        AdaptiveTicker(mantissas=[1, 2, 5], base=10, min_interval=0, max_interval=500,
                       num_minor_ticks=0),
        AdaptiveTicker(mantissas=[1, 2, 5, 10, 15, 20, 30], base=60, min_interval=1_000,
                       max_interval=30 * 60_000, num_minor_ticks=0),
        AdaptiveTicker(mantissas=[1, 2, 4, 6, 8, 12], base=24, min_interval=3_600_000,
                       max_interval=12 * 3_600_000, num_minor_ticks=0),
        DaysTicker(days=list(range(1, 32))),
        DaysTicker(days=[1, 8, 15, 22]),
        MonthsTicker(months=list(range(12))),
    ])


@shared
def header_html(health: dict[str, Any], history: list[tuple[float, float | None]]) -> str:
    """The health badge beside the last hour's health strip."""
    strip = sparkline(history, width=300, height=64, color="#2e9e44", lo=0.0, hi=100.0,
                      label="Health score, last hour")
    return (f'<div style="display:flex;gap:16px;align-items:center">'
            f'{health_badge(health)}<div class="fp-health-strip">{strip}</div></div>')


_TITLE = title_html("Live metrics")


_FALLBACK_METRIC = "betanet.avg_latency_ms"


@shared
def metric_names(engine: Any, count: int) -> list[str]:
    """The picker's names (the first 2,000 in order): one list for every session while the
    number of series is unchanged, so the picker's HTML is rendered once for them all."""
    return sorted(engine.aggregator.series)[:2000] or [_FALLBACK_METRIC]


@shared
def controls_html(names: list[str], metric: str, span: str) -> str:
    """The metric picker and the time range, as HTML selects (a change comes back as a
    ``metric`` or ``range`` action)."""

    def select(action: str, label: str, options: list[str], chosen: str, width: int) -> str:
        items = "".join(f'<option value="{html.escape(o)}"{" selected" if o == chosen else ""}>'
                        f"{html.escape(o)}</option>" for o in options)
        return (f'<label style="display:inline-flex;flex-direction:column;margin:6px 12px 0 0;'
                f'font-size:0.9em">{label}<select class="fp-{action}" data-action="{action}" '
                f'style="width:{width}px;padding:4px;margin-top:2px;color:inherit;'
                f'background:transparent;border:1px solid #8887;border-radius:4px">{items}'
                "</select></label>")

    return (select("metric", "Metric", names, metric, 320)
            + select("range", "Range", list(RANGES), span, 160))


class LiveMetrics(Viewer):
    """Health, services and a live chart of a chosen metric."""

    state = param.ClassSelector(class_=DashboardState)
    engine = param.Parameter(default=None, doc="The metrics engine (None in a bare notebook).")
    metric = param.String(default="", doc="The charted metric.")
    span = param.Selector(default=next(iter(RANGES)), objects=list(RANGES),
                          doc="The charted time range.")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        # Title, badge, health strip, services and the two selects: one model. Only the
        # sections that change are replaced in the page (an open select stays open).
        self.header = HTMLCard(sizing_mode="stretch_width")
        self.header.on("metric", self._pick)
        self.header.on("range", self._range)
        self._names = self._metric_names()
        if not self.metric:
            self.metric = _default_metric(self._names)
        self.source = ColumnDataSource({"t": [], "value": []})
        # No toolbar: a streaming chart that rolls over has nothing to pan to, and the
        # toolbar and its tools are models in every session's Document.
        chart = figure(height=260, x_axis_type="datetime", sizing_mode="stretch_width",
                       title="Metric", toolbar_location=None, tools="")
        chart.xaxis.ticker = time_ticker()
        # A renderer built directly: the plotting API would add a selection and a muted copy
        # of the glyph, models that every session's Document would carry for nothing.
        chart.renderers.append(GlyphRenderer(data_source=self.source, glyph=Line(
            x="t", y="value", line_width=2, line_color="#1f77b4")))
        self._chart_fig = chart
        self._chart = pn.pane.Bokeh(chart, sizing_mode="stretch_width")
        self.param.watch(self._reload, ["metric", "span"])
        self.state.param.watch(self._on_health, ["health", "services", "health_history"])
        self.state.param.watch(self._on_tick, "last_update")
        self._last_ts: float | None = None
        self._reload()

    def _pick(self, name: str) -> None:
        if name in self._names:
            self.metric = name

    def _range(self, span: str) -> None:
        if span in RANGES:
            self.span = span

    def _metric_names(self) -> list[str]:
        if self.engine is None:
            return [_FALLBACK_METRIC]
        return metric_names(self.engine, len(self.engine.aggregator.series))

    def _on_health(self, *_: Any) -> None:
        self.header.sections = [
            _TITLE, header_html(self.state.health, self.state.health_history),
            services_html(self.state.services),
            controls_html(self._names, self.metric, self.span)]

    def _reload(self, *_: Any) -> None:
        """Load the chosen range for the chosen metric (store beyond the live window)."""
        name, span = self.metric, RANGES[self.span]
        self._chart_fig.title.text = f"{name} · {self.span}"
        now = time.time()
        ts: list[float] = []
        values: list[float] = []
        reader = self.engine.reader() if self.engine is not None else None
        if reader is not None and name:
            try:
                frame = reader.query(name, now - span, now)
            finally:
                reader.close()
            column = "value" if "value" in frame else "avg"
            ts, values = frame["ts"].tolist(), frame[column].tolist()
        self._last_ts = ts[-1] if ts else None
        # Epoch milliseconds in float arrays (what a datetime axis reads): a pd.Timestamp per
        # point was ~100 bytes, and each session's chart keeps up to _ROLLOVER points.
        self.source.data = {"t": np.asarray(ts, dtype=float) * 1000.0,
                            "value": np.asarray(values, dtype=float)}
        self._names = self._metric_names()
        self._on_health()

    def _on_tick(self, *_: Any) -> None:
        if self.engine is None or RANGES[self.span] > 3600:
            return
        latest = self.engine.aggregator.latest(self.metric)
        if latest is None:
            return
        value, ts = latest
        if self._last_ts is not None and ts <= self._last_ts:
            return
        self._last_ts = ts
        self.source.stream({"t": np.array([ts * 1000.0]), "value": np.array([float(value)])},
                           rollover=_ROLLOVER)

    def __panel__(self) -> pn.viewable.Viewable:
        return card(self.header, self._chart, css_class="fp-live-metrics")


def _default_metric(names: list[str]) -> str:
    for preferred in ("betanet.avg_latency_ms", "health.score"):
        if preferred in names:
            return preferred
    return names[0]
