"""Build one dashboard session over a process's services (``create_app``).

Everything per session is created here: the state, the six components, the feed that subscribes
the session to the hub, and the freshness callback; all of it is torn down in
``on_session_destroyed``. ``state_only=True`` returns the parts without a template (notebooks).
"""

from __future__ import annotations

import time
from typing import Any

import panel as pn
from panel.theme.fast import Fast

from fogpanel.dashboard.alerts import Alerts
from fogpanel.dashboard.compact import release_empty_defaults
from fogpanel.dashboard.feed import SessionFeed
from fogpanel.dashboard.htmlcard import HTMLCard
from fogpanel.dashboard.live_metrics import LiveMetrics
from fogpanel.dashboard.node_status import NodeStatus
from fogpanel.dashboard.resources import Resources
from fogpanel.dashboard.state import DashboardState
from fogpanel.dashboard.task_progress import TaskProgress
from fogpanel.dashboard.timeline import timelines_for
from fogpanel.dashboard.topology import Topology
from fogpanel.server.services import Services

__all__ = [
    "OfflineFast", "components", "create_app", "freshness_html", "redis_html", "sidebar_html",
]


def _offline_fast() -> type[Fast]:
    """Panel's Fast design without its Google web font: fetched from a CDN, it fails (and fills
    the browser console with errors) on a machine without internet; system fonts are used.

    The subclass keeps the name ``Fast`` because Panel resolves a design's bundled resources by
    its class name.
    """
    return type("Fast", (Fast,), {"_resources": {**Fast._resources, "font": {}},
                                  "__module__": Fast.__module__})


OfflineFast = _offline_fast()

STALE_AFTER = 30.0


def freshness_html(state: DashboardState, now: float) -> str:
    """The connection/freshness indicator: live or stale, and the time of the last update.

    It shows a clock time rather than "n seconds ago" so it only changes when data arrives or
    the state flips to stale (a per-second refresh per session cost more CPU than the data).
    """
    if not state.connected:
        return '<span class="fp-fresh" data-fresh="disconnected">● disconnected</span>'
    if state.last_update is None:
        return '<span class="fp-fresh" data-fresh="waiting">● waiting for data</span>'
    stale = state.stale(now, STALE_AFTER)
    color = "#d62728" if stale else "#2e9e44"
    label = "stale" if stale else "live"
    at = time.strftime("%H:%M:%S", time.localtime(state.last_update))
    return (f'<span class="fp-fresh" data-fresh="{label}" style="color:{color}">● {label}'
            f" · last update {at}</span>")


def sources_html(sources: dict[str, Any]) -> str:
    parts = []
    for name in ("simulator", "host", "agents"):
        value = sources.get(name)
        on = bool(value)
        detail = f" ({value})" if name == "agents" and value else ""
        color = "#2e9e44" if on else "#999999"
        parts.append(f'<li class="fp-source" data-on="{str(on).lower()}">'
                     f'<span style="color:{color}">●</span> {name}{detail}</li>')
    return f'<ul style="list-style:none;padding-left:0">{"".join(parts)}</ul>'


def redis_html(broker_stats: dict[str, Any] | None) -> str:
    """The Redis link under scale-out (nothing without it): connected, or since when it is
    unreachable (the page then shows what this process last had).

    >>> redis_html(None)
    ''
    >>> 'data-redis="down"' in redis_html({"connected": False, "outage_since": 0.0})
    True
    """
    if broker_stats is None:
        return ""
    if broker_stats.get("connected"):
        return '<div class="fp-redis" data-redis="up" style="color:#2e9e44">● Redis connected</div>'
    since = broker_stats.get("outage_since")
    at = time.strftime("%H:%M:%S", time.localtime(since)) if since is not None else "?"
    return (f'<div class="fp-redis" data-redis="down" style="color:#d62728">● Redis unreachable '
            f"since {at}: showing this process's latest data</div>")


def sidebar_html(state: DashboardState, broker_stats: dict[str, Any] | None, now: float) -> str:
    """Freshness, live sources and (under scale-out) the Redis link."""
    return (f'<h3>Data</h3><div class="fp-freshness">{freshness_html(state, now)}</div>'
            f'<b>Sources</b><div class="fp-sources">{sources_html(state.sources)}</div>'
            f"{redis_html(broker_stats)}")


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
    pn.extension(notifications=True)
    state = DashboardState(acknowledged=list(services.engine.acknowledged),
                           timelines=timelines_for(services.hub))
    parts = components(state, services)
    # The whole sidebar is one card: one model, one change when anything in it changes.
    sidebar = HTMLCard(sections=[sidebar_html(state, _broker_stats(services), time.time())],
                       css_classes=["fp-sidebar"])

    template = pn.template.FastListTemplate(
        title="fogpanel · fog cluster", theme_toggle=True, sidebar_width=260, design=OfflineFast,
        # System fonts: a web font from a CDN fails (and logs console errors) offline.
        font="system-ui, -apple-system, 'Segoe UI', sans-serif", font_url="",
        # The busy spinner flips on every document callback: with a feed flushing every tick it
        # cost more than the data updates (profiled); freshness is shown in the sidebar instead.
        busy_indicator=None,
        sidebar=[sidebar],
        main=[
            pn.Row(parts["live_metrics"], parts["alerts"], sizing_mode="stretch_width"),
            pn.Row(parts["node_status"], parts["topology"], sizing_mode="stretch_width"),
            pn.Row(parts["task_progress"], parts["resources"], sizing_mode="stretch_width"),
        ],
    )
    doc = pn.state.curdoc
    if doc is not None and doc.session_context is not None:
        feed = SessionFeed(services.hub, state, doc)
        feed.start(services.hub.rooms)

        def refresh(*_: Any) -> None:
            html = sidebar_html(state, _broker_stats(services), time.time())
            if [html] != sidebar.sections:
                sidebar.sections = [html]

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
    return template


def _broker_stats(services: Services) -> dict[str, Any] | None:
    return services.broker.stats() if services.broker is not None else None
