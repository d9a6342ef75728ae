"""Alerts: live feed (newest first), severity colours and icons, anomaly details, acknowledge
and silence, a count badge, and a notification when a critical alert arrives.

The card is one :class:`~fogpanel.dashboard.htmlcard.HTMLCard`: every alert carries its own
acknowledge and silence buttons, whose clicks come back as ``ack``/``silence`` actions with the
alert's id. The notification is a section of the same card, drawn over the page's corner
(:func:`toast_html`): Panel's notification area is one more model per session, and on a page
without a Panel template it stays registered after the session ends, keeping the whole
Document alive.
"""

from __future__ import annotations

import html
from typing import Any

import param
from panel.viewable import Viewer

from fogpanel.dashboard.card import html_card, title_html
from fogpanel.dashboard.htmlcard import HTMLCard
from fogpanel.dashboard.state import SEVERITY_COLORS, DashboardState

__all__ = ["Alerts", "badge_html", "render_alerts", "toast_html"]

# Plain symbols: emoji fonts are often missing (headless browsers, minimal desktops).
_ICONS = {"critical": "■", "warning": "▲", "info": "●", "resolved": "✔"}
_BUTTON = ("padding:1px 8px;margin-left:6px;border:1px solid #8886;border-radius:4px;"
           "background:transparent;color:inherit;cursor:pointer;font-size:0.85em")


def _details(alert: dict[str, Any]) -> str:
    parts = []
    if alert.get("kind") == "anomaly":
        expected = alert.get("expected") or {}
        if expected:
            parts.append(f"expected {expected.get('low', 0):.4g} – {expected.get('high', 0):.4g}")
        parts.append(f"actual {alert.get('value')!s}")
        parts.append(f"score {alert.get('score')}")
    elif alert.get("kind") == "threshold":
        parts.append(f"value {alert.get('value')} vs {alert.get('threshold')}")
    if alert.get("incident"):
        parts.append(str(alert["incident"]))
    return " · ".join(html.escape(p) for p in parts)


def _buttons(alert_id: str, acked: bool) -> str:
    ack = ("" if acked else f'<button class="fp-ack" data-action="ack" data-arg="{alert_id}" '
           f'style="{_BUTTON}">Acknowledge</button>')
    return (f'{ack}<button class="fp-silence" data-action="silence" data-arg="{alert_id}" '
            f'style="{_BUTTON}">Silence 1 h</button>')


TOAST_SECONDS = 8
# The toast fades out by itself in the browser: no timer per session on the server.
_TOAST = ("position:fixed;top:16px;right:16px;z-index:1000;max-width:420px;padding:10px 14px;"
          "background:#d62728;color:white;border-radius:6px;box-shadow:0 2px 10px #0007;"
          f"animation:fp-toast {TOAST_SECONDS}s forwards")
_TOAST_KEYFRAMES = ("<style>@keyframes fp-toast{0%,85%{opacity:1}"
                    "100%{opacity:0;visibility:hidden}}</style>")


def toast_html(alert: dict[str, Any], count: int, nonce: int) -> str:
    """The notification for ``count`` new critical alerts, ``alert`` the newest.

    ``nonce`` makes each notification a new section, so the page draws it (and starts its
    fade-out) again even when the text repeats.

    >>> 'data-nonce="3"' in toast_html({"title": "<b>x</b>"}, 1, 3)
    True
    >>> "&lt;b&gt;x&lt;/b&gt;" in toast_html({"title": "<b>x</b>"}, 2, 3)
    True
    """
    more = f" (+{count - 1} more)" if count > 1 else ""
    title = html.escape(str(alert.get("title", "alert")))
    return (f'{_TOAST_KEYFRAMES}<div class="fp-toast" role="alert" data-nonce="{nonce}" '
            f'style="{_TOAST}"><b>{_ICONS["critical"]} Critical:</b> {title}{more}'
            f'<button class="fp-toast-close" data-action="dismiss" title="Dismiss" '
            f'style="{_BUTTON};color:white;border-color:#fff8">×</button></div>')


def badge_html(alerts: list[dict[str, Any]]) -> str:
    """The title with the count badge (firing and total)."""
    firing = sum(1 for a in alerts if a.get("state") == "firing")
    return (f'<div class="fp-alert-badge" style="display:flex;align-items:center;gap:12px">'
            f'{title_html("Alerts")}<span class="fp-badge" data-count="{len(alerts)}" '
            f'style="background:#d62728;color:white;border-radius:12px;padding:2px 10px">'
            f"{firing} firing · {len(alerts)} total</span></div>")


def render_alerts(alerts: list[dict[str, Any]], acknowledged: list[str]) -> str:
    """HTML for the feed: one row per alert, newest first, each with its buttons."""
    if not alerts:
        return '<div class="fp-alerts-empty" style="opacity:.7">No alerts.</div>'
    rows = []
    for a in alerts:
        state = a.get("state", "firing")
        severity = a.get("severity") or a.get("priority") or "info"
        color = "#2e9e44" if state == "resolved" else SEVERITY_COLORS.get(severity, "#1f77b4")
        icon = _ICONS["resolved"] if state == "resolved" else _ICONS.get(severity, "●")
        acked = a.get("alert_id") in acknowledged
        ident = html.escape(str(a.get("alert_id")))
        rows.append(
            f'<div class="fp-alert" data-alert-id="{ident}" '
            f'data-state="{html.escape(state)}" data-severity="{html.escape(severity)}" '
            f'style="border-left:6px solid {color};padding:4px 8px;margin:4px 0">'
            f'<b><span style="color:{color}">{icon}</span> '
            f'{html.escape(str(a.get("title", "alert")))}</b> '
            f'<span style="color:{color}">[{html.escape(severity)} · {html.escape(state)}]</span>'
            f'{" <i>acknowledged</i>" if acked else ""}{_buttons(ident, acked)}<br>'
            f'<small>{html.escape(str(a.get("timestamp", "")))} · '
            f'{html.escape(str(a.get("source", "")))} · {_details(a)}</small></div>')
    return (f'<div class="fp-alert-feed" data-scroll="alerts" style="max-height:420px;'
            f'overflow-y:auto">{"".join(rows)}</div>')


class Alerts(Viewer):
    """The alert feed with acknowledge and silence."""

    state = param.ClassSelector(class_=DashboardState)
    engine = param.Parameter(default=None, doc="The metrics engine, for silences.")
    message = param.String(default="", doc="What the last button did.")
    toast = param.String(default="", doc="The notification shown for new critical alerts.")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.card = html_card("fp-alerts")
        self.card.on("ack", self._acknowledge)
        self.card.on("silence", self._silence)
        self.card.on("dismiss", self._dismiss)
        self._toasts = 0
        self.state.param.watch(self._update, ["alerts", "acknowledged"])
        self.state.param.watch(self._notify, "unseen_critical")
        self.param.watch(self._update, ["message", "toast"])
        self._update()

    def _update(self, *_: Any) -> None:
        alerts = self.state.alerts
        message = (f'<div class="fp-alert-message" style="margin:6px 0">'
                   f"{html.escape(self.message)}</div>" if self.message else "")
        self.card.sections = [badge_html(alerts), message,
                              render_alerts(alerts, self.state.acknowledged), self.toast]

    def _notify(self, *_: Any) -> None:
        count = self.state.unseen_critical
        if count:
            latest = next((a for a in self.state.alerts if a.get("severity") == "critical"), {})
            self._toasts += 1
            self.state.unseen_critical = 0
            self.toast = toast_html(latest, count, self._toasts)

    def _dismiss(self, _arg: str) -> None:
        self.toast = ""

    def _find(self, alert_id: str) -> dict[str, Any] | None:
        return next((a for a in self.state.alerts if str(a.get("alert_id")) == alert_id), None)

    def _acknowledge(self, alert_id: str) -> None:
        alert = self._find(alert_id)
        if alert is None:
            return
        self.state.acknowledge(alert.get("alert_id"))
        if self.engine is not None:
            self.engine.acknowledge(alert.get("alert_id"), "dashboard")
        self.message = f"Acknowledged: {alert.get('title')}"

    def _silence(self, alert_id: str) -> None:
        alert = self._find(alert_id)
        if alert is None or self.engine is None:
            return
        if alert.get("metric"):
            matcher = {"metric": alert["metric"]}
        elif alert.get("incident"):
            matcher = {"incident": alert["incident"], "target": str(alert.get("target", "*"))}
        else:
            matcher = {"source": str(alert.get("source", "*"))}
        silence = self.engine.add_silence(matcher, 3600, "dashboard",
                                          f"silenced from the dashboard: {alert.get('title')}")
        self.message = f"Silenced for 1 h ({silence.id}): {matcher}"

    def __panel__(self) -> HTMLCard:
        return self.card
