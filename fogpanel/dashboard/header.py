"""The page's header as HTML: the title bar with the theme switch, and the status line
(freshness, live data sources and, under scale-out, the Redis link) below it.

The header is one :class:`~fogpanel.dashboard.htmlcard.HTMLCard` in place of a Panel template:
a FastListTemplate (its header, sidebar, main and modal lists, a notebook view, the design
applied across a fake root) cost ~0.2 MiB per session, a fifth of the whole page, for a title
bar and a sidebar.
"""

from __future__ import annotations

import html
import time
from typing import Any

from fogpanel.dashboard.state import DashboardState

__all__ = ["STALE_AFTER", "freshness_html", "header_html", "redis_html", "sources_html",
           "status_html"]

STALE_AFTER = 30.0
GREEN, RED, GREY = "#2e9e44", "#d62728", "#999999"
_BAR = ("display:flex;align-items:center;justify-content:space-between;padding:10px 16px;"
        "background:#0072b5;color:white")
_STATUS = ("display:flex;flex-wrap:wrap;align-items:center;gap:4px 28px;padding:6px 16px;"
           "border-bottom:1px solid #8884")
# Panel's theme names, and what the switch to each shows and says.
_SWITCH = {"dark": ("☾", "dark"), "default": ("☀", "light")}


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
    color = RED if stale else GREEN
    label = "stale" if stale else "live"
    at = time.strftime("%H:%M:%S", time.localtime(state.last_update))
    return (f'<span class="fp-fresh" data-fresh="{label}" style="color:{color}">● {label}'
            f" · last update {at}</span>")


def sources_html(sources: dict[str, Any]) -> str:
    """The data sources on one line, each with a dot: green when it is feeding the process."""
    parts = []
    for name in ("simulator", "host", "agents"):
        value = sources.get(name)
        on = bool(value)
        detail = f" ({value})" if name == "agents" and value else ""
        parts.append(f'<li class="fp-source" data-on="{str(on).lower()}">'
                     f'<span style="color:{GREEN if on else GREY}">●</span> {name}{detail}</li>')
    return ('<ul style="display:inline-flex;gap:14px;list-style:none;margin:0;padding:0">'
            f'{"".join(parts)}</ul>')


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
        return (f'<div class="fp-redis" data-redis="up" style="color:{GREEN}">'
                "● Redis connected</div>")
    since = broker_stats.get("outage_since")
    at = time.strftime("%H:%M:%S", time.localtime(since)) if since is not None else "?"
    return (f'<div class="fp-redis" data-redis="down" style="color:{RED}">● Redis unreachable '
            f"since {at}: showing this process's latest data</div>")


def status_html(state: DashboardState, broker_stats: dict[str, Any] | None, now: float) -> str:
    """Freshness, live sources and (under scale-out) the Redis link, on one line."""
    return (f'<div class="fp-status" style="{_STATUS}">'
            f'<div class="fp-freshness">{freshness_html(state, now)}</div>'
            f'<div class="fp-sources"><b>Sources</b> {sources_html(state.sources)}</div>'
            f"{redis_html(broker_stats)}</div>")


def header_html(title: str, theme: str) -> str:
    """The title bar, with a link to this page in the other theme.

    A theme is chosen when a session is built (Panel reads ``?theme=`` for the page's design
    and the figures' colours), so the switch reloads the page, as Panel's templates do.

    >>> page = header_html("fp & co", "dark")
    >>> 'href="?theme=default"' in page and "fp &amp; co" in page
    True
    """
    other = "default" if theme == "dark" else "dark"
    icon, label = _SWITCH[other]
    return (f'<div class="fp-title-bar" style="{_BAR}">'
            f'<span style="font-size:1.6em">{html.escape(title)}</span>'
            f'<a id="theme-switch" href="?theme={other}" title="Switch to the {label} theme" '
            f'style="color:white;text-decoration:none;font-size:1.5em">{icon}</a></div>')
