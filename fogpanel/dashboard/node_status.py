"""NodeStatus: Betanet and P2P figures with per-second rates, sparklines, latency thresholds."""

from __future__ import annotations

from typing import Any

import pandas as pd
import panel as pn
import param
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure
from panel.viewable import Viewer

from fogpanel.dashboard.state import DashboardState

__all__ = ["NodeStatus", "latency_color"]

LATENCY_WARN, LATENCY_CRIT = 100.0, 500.0


def latency_color(ms: float) -> str:
    """Green under 100 ms, amber to 500 ms, red beyond (the default latency rule).

    >>> latency_color(20), latency_color(150), latency_color(900)
    ('#2e9e44', '#e6a100', '#d62728')
    """
    if ms >= LATENCY_CRIT:
        return "#d62728"
    if ms >= LATENCY_WARN:
        return "#e6a100"
    return "#2e9e44"


def _spark(source: ColumnDataSource, y: str, title: str, color: str) -> pn.pane.Bokeh:
    fig = figure(height=70, width=220, x_axis_type="datetime", toolbar_location=None,
                 title=title)
    fig.line("t", y, source=source, line_width=2, color=color)
    fig.axis.visible = False
    fig.grid.visible = False
    return pn.pane.Bokeh(fig)


class NodeStatus(Viewer):
    """Betanet mixnodes and P2P peers."""

    state = param.ClassSelector(class_=DashboardState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        num = pn.indicators.Number
        self.active = num(label="Active mixnodes", value=0, font_size="28pt")
        self.connections = num(label="Connections", value=0, font_size="28pt")
        self.latency = num(label="Avg latency (ms)", value=0, format="{value:.1f}",
                           font_size="28pt",
                           colors=[(LATENCY_WARN, "#2e9e44"), (LATENCY_CRIT, "#e6a100"),
                                   (1e12, "#d62728")])
        self.packets = num(label="Packets/s", value=0, format="{value:,.0f}", font_size="20pt",
                           title_size="14pt")
        self.peers = num(label="P2P peers", value=0, font_size="28pt")
        self.sent = num(label="Sent msgs/s", value=0, format="{value:,.1f}", font_size="20pt")
        self.received = num(label="Received msgs/s", value=0, format="{value:,.1f}",
                            font_size="20pt")
        self._source = ColumnDataSource({"t": [], "latency": [], "rate": []})
        self._sparks = pn.Row(_spark(self._source, "latency", "latency ms", "#e6a100"),
                              _spark(self._source, "rate", "p2p msgs/s", "#1f77b4"))
        self.state.param.watch(self._update, ["betanet", "p2p", "node_history"])
        self._update()

    def _update(self, *_: Any) -> None:
        b, p = self.state.betanet, self.state.p2p
        self.active.value = b.get("active_nodes", 0)
        self.connections.value = b.get("connections", 0)
        self.latency.value = float(b.get("avg_latency_ms", 0.0))
        self.packets.value = float(b.get("packets_per_second", 0.0))
        self.peers.value = p.get("connected_peers", 0)
        self.sent.value = float(p.get("messages_sent_per_second", 0.0))
        self.received.value = float(p.get("messages_received_per_second", 0.0))
        hist = self.state.node_history
        self._source.data = {"t": [pd.Timestamp(t, unit="s") for t, _, _ in hist],
                             "latency": [lat for _, lat, _ in hist],
                             "rate": [r for _, _, r in hist]}

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Card(
            pn.Row(self.active, self.connections, self.latency, self.packets),
            pn.Row(self.peers, self.sent, self.received),
            self._sparks,
            title="Nodes", sizing_mode="stretch_width", collapsible=False,
            css_classes=["fp-node-status"])
