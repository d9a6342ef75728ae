"""NodeStatus: Betanet and P2P figures with per-second rates, sparklines, latency thresholds."""

from __future__ import annotations

from typing import Any

import param
from panel.viewable import Viewer

from fogpanel.dashboard.card import html_card, title_html
from fogpanel.dashboard.htmlcard import HTMLCard
from fogpanel.dashboard.memo import shared
from fogpanel.dashboard.state import DashboardState
from fogpanel.dashboard.svg import sparkline
from fogpanel.dashboard.tiles import Tile, tiles_html

__all__ = ["NodeStatus", "latency_color", "sparklines_html"]

LATENCY_WARN, LATENCY_CRIT = 100.0, 500.0
_TITLE = title_html("Nodes")


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


def sparklines_html(history: list[tuple[float, float, float]]) -> str:
    """Latency and P2P message-rate sparklines over the node history."""
    latency = sparkline([(t, lat) for t, lat, _ in history], color="#e6a100",
                        label="latency ms")
    rate = sparkline([(t, r) for t, _, r in history], color="#1f77b4", label="p2p msgs/s")
    return f'<div class="fp-sparks" style="display:flex;gap:16px">{latency}{rate}</div>'


@shared
def node_tiles(b: dict[str, Any], p: dict[str, Any]) -> str:
    """The Betanet and P2P figures (latency coloured by its thresholds)."""
    latency = float(b.get("avg_latency_ms", 0.0))
    return tiles_html([
        Tile("active", "Active mixnodes", b.get("active_nodes", 0)),
        Tile("connections", "Connections", b.get("connections", 0)),
        Tile("latency", "Avg latency (ms)", latency, "{:.1f}", latency_color(latency)),
        Tile("packets", "Packets/s", float(b.get("packets_per_second", 0.0)), size="20pt"),
        Tile("peers", "P2P peers", p.get("connected_peers", 0)),
        Tile("sent", "Sent msgs/s", float(p.get("messages_sent_per_second", 0.0)), "{:,.1f}",
             size="20pt"),
        Tile("received", "Received msgs/s", float(p.get("messages_received_per_second", 0.0)),
             "{:,.1f}", size="20pt")])


@shared
def node_body(betanet: dict[str, Any], p2p: dict[str, Any],
              history: list[tuple[float, float, float]]) -> str:
    return node_tiles(betanet, p2p) + sparklines_html(history)


class NodeStatus(Viewer):
    """Betanet mixnodes and P2P peers."""

    state = param.ClassSelector(class_=DashboardState)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.card = html_card("fp-node-status")
        self.state.param.watch(self._update, ["betanet", "p2p", "node_history"])
        self._update()

    def _update(self, *_: Any) -> None:
        b, p = self.state.betanet, self.state.p2p
        # Tiles and sparklines in one section: one change per tick, not two.
        self.card.sections = [_TITLE, node_body(b, p, self.state.node_history)]

    def __panel__(self) -> HTMLCard:
        return self.card
