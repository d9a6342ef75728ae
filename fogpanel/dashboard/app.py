"""Build one dashboard session over a process's services (``create_app``).

Everything per session is created here: the state, the six components, the feed that subscribes
the session to the hub, and the freshness callback; all of it is torn down in
``on_session_destroyed``. :func:`components` gives the six components over a state without the
page (notebooks).
"""

from __future__ import annotations

import time
from typing import Any

import panel as pn
from panel.theme.fast import Fast

from fogpanel.dashboard.alerts import Alerts
from fogpanel.dashboard.compact import release_empty_defaults
from fogpanel.dashboard.feed import SessionFeed
from fogpanel.dashboard.header import header_html, status_html
from fogpanel.dashboard.htmlcard import HTMLCard
from fogpanel.dashboard.live_metrics import LiveMetrics
from fogpanel.dashboard.node_status import NodeStatus
from fogpanel.dashboard.resources import Resources
from fogpanel.dashboard.state import DashboardState
from fogpanel.dashboard.task_progress import TaskProgress
from fogpanel.dashboard.timeline import timelines_for
from fogpanel.dashboard.topology import Topology
from fogpanel.server.services import Services

__all__ = ["TITLE", "OfflineFast", "components", "create_app"]


def _offline_fast() -> type[Fast]:
    """Panel's Fast design without its Google web font: fetched from a CDN, it fails (and fills
    the browser console with errors) on a machine without internet; system fonts are used.

    The subclass keeps the name ``Fast`` because Panel resolves a design's bundled resources by
    its class name.
    """
    return type("Fast", (Fast,), {"_resources": {**Fast._resources, "font": {}},
                                  "__module__": Fast.__module__})


# Panel's Native design is ~30 KiB less per session, but with it Chromium intermittently drew a
# one-pixel column of each figure's far edge along the figure's left edge (2 page loads in 4;
# none in 13 with Fast).
OfflineFast = _offline_fast()

TITLE = "fogpanel · fog cluster"
WRAP = {"flex-wrap": "wrap", "align-items": "flex-start"}


def components(state: DashboardState, services: Services | None) -> dict[str, Any]:
    """The six components over one state (shared by the app and notebooks)."""
    engine = services.engine if services is not None else None
    return {
        "live_metrics": LiveMetrics(state=state, engine=engine),
        "node_status": NodeStatus(state=state),
        "task_progress": TaskProgress(state=state),
        "alerts": Alerts(state=state, engine=engine),
        "resources": Resources(state=state, engine=engine),
        "topology": Topology(state=state),
    }


def create_app(services: Services) -> pn.viewable.Viewable:
    """The page for one session."""
    state = DashboardState(acknowledged=list(services.engine.acknowledged),
                           timelines=timelines_for(services.hub))
    parts = components(state, services)
    pn.config.design = OfflineFast  # for this session's components
    theme = pn.config.theme  # "dark" or "default", from the page's ?theme=
    # The page's header (title, theme switch, freshness, sources) is one card: one model, one
    # change when anything in it changes (see fogpanel.dashboard.header).
    title_bar = header_html(TITLE, theme)

    def header_sections() -> list[str]:
        return [title_bar, status_html(state, _broker_stats(services), time.time())]

    header = HTMLCard(sections=header_sections(), sizing_mode="stretch_width",
                      css_classes=["fp-header"], margin=0)
    cards = [parts[name] for name in ("live_metrics", "alerts", "node_status", "topology",
                                      "task_progress", "resources")]
    # One row that wraps: two cards side by side on a wide screen, one under another on a narrow
    # one (each card's box asks for a share of at least 640 px; see fogpanel.dashboard.card).
    page = pn.Column(header, pn.Row(*cards, sizing_mode="stretch_width", styles=WRAP),
                     sizing_mode="stretch_width")
    doc = pn.state.curdoc
    if doc is not None:
        # The figures' colours for the theme (Panel's templates set this on the Document).
        doc.theme = OfflineFast(theme=theme).theme.bokeh_theme
    if doc is not None and doc.session_context is not None:
        feed = SessionFeed(services.hub, state, doc)
        feed.start_when(services.joined, services.hub.rooms)

        def refresh(*_: Any) -> None:
            sections = header_sections()
            if sections != header.sections:
                header.sections = sections

        # New data refreshes the indicator; a slow timer only notices silence (stale).
        state.param.watch(refresh, ["last_update", "connected", "sources"])
        callback = pn.state.add_periodic_callback(refresh, period=10_000)

        def destroyed(_ctx: Any) -> None:
            callback.stop()
            feed.stop()
            services.heap.session_closed()

        pn.state.on_session_destroyed(destroyed)

        def built() -> None:
            # Once the page has rendered: release Bokeh's empty default containers (see
            # fogpanel.dashboard.compact), then freeze this session's long-lived objects out of
            # the collector's full passes (see fogpanel.server.heap).
            release_empty_defaults(doc.models)
            services.heap.session_built()

        pn.state.onload(built)
    return page


def _broker_stats(services: Services) -> dict[str, Any] | None:
    return services.broker.stats() if services.broker is not None else None
