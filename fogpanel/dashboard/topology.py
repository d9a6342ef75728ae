"""Topology: an interactive graph of nodes and links coloured by role and health."""

from __future__ import annotations

import math
from typing import Any

import panel as pn
import param
from bokeh.models import ColumnDataSource, GlyphRenderer, HoverTool, Scatter, Segment
from bokeh.plotting import figure
from panel.viewable import Viewer

from fogpanel.dashboard.card import card, title_html
from fogpanel.dashboard.htmlcard import HTMLCard
from fogpanel.dashboard.memo import shared
from fogpanel.dashboard.state import DashboardState

__all__ = ["ROLE_COLORS", "Topology", "circle_layout"]

ROLE_COLORS = {"gateway": "#9467bd", "mixnode": "#1f77b4", "relay": "#17becf"}
_DEGRADED = "#d62728"
_TITLE = title_html("Topology")


def circle_layout(ids: list[str]) -> dict[str, tuple[float, float]]:
    """Nodes on a circle, in id order (stable as nodes come and go).

    >>> circle_layout(["a", "b"])["a"]
    (1.0, 0.0)
    """
    n = max(len(ids), 1)
    return {node: (math.cos(2 * math.pi * i / n), math.sin(2 * math.pi * i / n))
            for i, node in enumerate(sorted(ids))}


@shared
def graph_columns(topo: dict[str, Any]) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """The node and link columns of a topology message, computed once for every session (the
    sources only ever replace their columns, never patch them in place)."""
    nodes, links = topo.get("nodes", []), topo.get("links", [])
    pos = circle_layout([n["id"] for n in nodes])
    node_columns = {
        "x": [pos[n["id"]][0] for n in nodes], "y": [pos[n["id"]][1] for n in nodes],
        "id": [n["id"] for n in nodes], "role": [n.get("role") for n in nodes],
        "region": [n.get("region") for n in nodes],
        "status": [n.get("status") for n in nodes],
        "color": [_DEGRADED if n.get("status") != "healthy"
                  else ROLE_COLORS.get(n.get("role"), "#7f7f7f") for n in nodes]}
    shown = [e for e in links if e["source"] in pos and e["target"] in pos]
    link_columns = {
        "x0": [pos[e["source"]][0] for e in shown], "y0": [pos[e["source"]][1] for e in shown],
        "x1": [pos[e["target"]][0] for e in shown], "y1": [pos[e["target"]][1] for e in shown],
        "latency_ms": [e.get("latency_ms") for e in shown]}
    return node_columns, link_columns


class Topology(Viewer):
    """The overlay network."""

    state = param.ClassSelector(class_=DashboardState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        # No axes or grids (positions mean nothing), and renderers built directly: the
        # plotting API adds a selection and a muted copy of every glyph, models that each
        # session's Document would carry for nothing.
        fig = figure(height=380, x_range=(-1.3, 1.3), y_range=(-1.3, 1.3),
                     sizing_mode="stretch_width", toolbar_location="right",
                     title="Overlay network", tools="pan,wheel_zoom,reset",
                     x_axis_type=None, y_axis_type=None)
        # Plain glyphs with positions computed here: each update replaces a source's columns
        # together (a GraphRenderer updates nodes, edges and layout as separate changes).
        self._links = ColumnDataSource({"x0": [], "y0": [], "x1": [], "y1": [],
                                        "latency_ms": []})
        self._nodes = ColumnDataSource({"x": [], "y": [], "id": [], "role": [], "region": [],
                                        "status": [], "color": []})
        fig.renderers.append(GlyphRenderer(data_source=self._links, glyph=Segment(
            x0="x0", y0="y0", x1="x1", y1="y1", line_alpha=0.45, line_width=1.5,
            line_color="#8c8c8c")))
        nodes = GlyphRenderer(data_source=self._nodes, glyph=Scatter(
            x="x", y="y", size=16, fill_color="color", line_color="#333333"))
        fig.renderers.append(nodes)
        fig.add_tools(HoverTool(renderers=[nodes], tooltips=[
            ("node", "@id"), ("role", "@role"), ("region", "@region"), ("status", "@status")]))
        self._fig = fig
        self.info = HTMLCard(sizing_mode="stretch_width", css_classes=["fp-topology-info"])
        self.state.param.watch(self._update, "topology")
        self._update()

    def _update(self, *_: Any) -> None:
        topo = self.state.topology
        nodes, links = topo.get("nodes", []), topo.get("links", [])
        node_columns, link_columns = graph_columns(topo)
        self._nodes.data = dict(node_columns)
        self._links.data = dict(link_columns)
        n = len(nodes)
        density = 2 * len(links) / (n * (n - 1)) if n > 1 else 0.0
        self.info.sections = [_TITLE, (
            f'<span class="fp-topology-summary" data-changes="{self.state.topology_changes}">'
            f"{n} nodes · {len(links)} links · density {density:.2f} · "
            f"change #{topo.get('change_number', 0)} "
            f"({self.state.topology_changes} seen in this session)</span>")]

    def __panel__(self) -> pn.viewable.Viewable:
        return card(self.info, pn.pane.Bokeh(self._fig, sizing_mode="stretch_width"),
                    css_class="fp-topology")
