"""Build one dashboard session's view over a process's services.

A placeholder until the dashboard issue: it shows which sources are live and what the API is
doing (connections, rooms, messages), refreshed every two seconds, from the same
:class:`Services` the API uses. The periodic callback is created inside the session and stopped
when the session ends, so closed tabs leak nothing.
"""

from __future__ import annotations

import panel as pn

from fogpanel.server.services import Services

__all__ = ["create_app"]


def _summary(services: Services) -> str:
    stats = services.stats()
    rows = "\n".join(
        f"| {room} | {info['subscribers']} | {info['last_offset']} |"
        for room, info in stats["rooms"].items()
    )
    sources = stats["sources"]
    live = [name for name, on in sources.items() if on] or ["none"]
    return (
        f"Live sources: **{', '.join(live)}** ({sources['agents'] or 0} agent devices "
        "reporting).\n\n"
        f"**{stats['active_connections']}** API connections open, "
        f"**{stats['messages_published']}** messages published, "
        f"**{stats['messages_delivered']}** delivered; up {stats['uptime_seconds']:.0f} s.\n\n"
        "| room | subscribers | last offset |\n|---|---|---|\n" + rows
    )


def create_app(services: Services) -> pn.viewable.Viewable:
    """The page for one session."""
    summary = pn.pane.Markdown(_summary(services), name="summary")

    def refresh() -> None:
        summary.object = _summary(services)

    page = pn.Column(
        pn.pane.Markdown("# fogpanel\nLive monitoring hub for fog-compute clusters. The full "
                         "dashboard arrives with the dashboard issue; the WebSocket API is at "
                         "`/api/ws/connect`."),
        summary,
        sizing_mode="stretch_width",
    )
    if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
        callback = pn.state.add_periodic_callback(refresh, period=2000)
        pn.state.on_session_destroyed(lambda _ctx: callback.stop())
    return page
