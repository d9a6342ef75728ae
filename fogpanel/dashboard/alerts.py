"""Alerts: live feed (newest first), severity colours and icons, anomaly details, acknowledge
and silence, a count badge, and a notification when a critical alert arrives."""

from __future__ import annotations

import html
from typing import Any

import panel as pn
import param
from panel.viewable import Viewer

from fogpanel.dashboard.card import card
from fogpanel.dashboard.livehtml import LiveHTML
from fogpanel.dashboard.state import SEVERITY_COLORS, DashboardState

__all__ = ["Alerts", "render_alerts"]

# Plain symbols: emoji fonts are often missing (headless browsers, minimal desktops).
_ICONS = {"critical": "■", "warning": "▲", "info": "●", "resolved": "✔"}


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


def render_alerts(alerts: list[dict[str, Any]], acknowledged: list[str]) -> str:
    """HTML for the feed: one row per alert, newest first."""
    if not alerts:
        return '<div class="fp-alerts-empty" style="opacity:.7">No alerts.</div>'
    rows = []
    for a in alerts:
        state = a.get("state", "firing")
        severity = a.get("severity") or a.get("priority") or "info"
        color = "#2e9e44" if state == "resolved" else SEVERITY_COLORS.get(severity, "#1f77b4")
        icon = _ICONS["resolved"] if state == "resolved" else _ICONS.get(severity, "●")
        acked = a.get("alert_id") in acknowledged
        rows.append(
            f'<div class="fp-alert" data-alert-id="{html.escape(str(a.get("alert_id")))}" '
            f'data-state="{html.escape(state)}" data-severity="{html.escape(severity)}" '
            f'style="border-left:6px solid {color};padding:4px 8px;margin:4px 0">'
            f'<b><span style="color:{color}">{icon}</span> '
            f'{html.escape(str(a.get("title", "alert")))}</b> '
            f'<span style="color:{color}">[{html.escape(severity)} · {html.escape(state)}]</span>'
            f'{" <i>acknowledged</i>" if acked else ""}<br>'
            f'<small>{html.escape(str(a.get("timestamp", "")))} · '
            f'{html.escape(str(a.get("source", "")))} · {_details(a)}</small></div>')
    return "\n".join(rows)


class Alerts(Viewer):
    """The alert feed with acknowledge and silence."""

    state = param.ClassSelector(class_=DashboardState)
    engine = param.Parameter(default=None, doc="The metrics engine, for silences.")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.badge = LiveHTML("", css_classes=["fp-alert-badge"])
        self.feed = LiveHTML("", sizing_mode="stretch_width", max_height=420,
                                 styles={"overflow-y": "auto"}, css_classes=["fp-alert-feed"])
        self.choice = pn.widgets.Select(label="Alert", options={}, width=360)
        self.ack = pn.widgets.Button(label="Acknowledge", color="primary",
                                     css_classes=["fp-ack"])
        self.silence = pn.widgets.Button(label="Silence 1 h", color="warning",
                                         css_classes=["fp-silence"])
        self.message = pn.pane.Markdown("", css_classes=["fp-alert-message"])
        self.ack.on_click(self._acknowledge)
        self.silence.on_click(self._silence)
        self.state.param.watch(self._update, ["alerts", "acknowledged"])
        self.state.param.watch(self._notify, "unseen_critical")
        self._update()

    def _update(self, *_: Any) -> None:
        alerts = self.state.alerts
        firing = sum(1 for a in alerts if a.get("state") == "firing")
        self.badge.object = (f'<span class="fp-badge" data-count="{len(alerts)}" '
                             f'style="background:#d62728;color:white;border-radius:12px;'
                             f'padding:2px 10px">{firing} firing · {len(alerts)} total</span>')
        self.feed.object = render_alerts(alerts, self.state.acknowledged)
        options = {}
        for a in alerts[:50]:
            key = f"{a.get('title', 'alert')} · {a.get('state')} · {a.get('timestamp', '')}"
            options[key] = a
        self.choice.options = options

    def _notify(self, *_: Any) -> None:
        if self.state.unseen_critical and pn.state.notifications is not None:
            latest = next((a for a in self.state.alerts if a.get("severity") == "critical"), {})
            pn.state.notifications.error(f"Critical: {latest.get('title', 'alert')}",
                                         duration=8000)
        self.state.unseen_critical = 0

    def _acknowledge(self, *_: Any) -> None:
        alert = self.choice.value
        if not alert:
            return
        self.state.acknowledge(alert.get("alert_id"))
        if self.engine is not None:
            self.engine.acknowledge(alert.get("alert_id"), "dashboard")
        self.message.object = f"Acknowledged: {alert.get('title')}"

    def _silence(self, *_: Any) -> None:
        alert = self.choice.value
        if not alert or self.engine is None:
            return
        if alert.get("metric"):
            matcher = {"metric": alert["metric"]}
        elif alert.get("incident"):
            matcher = {"incident": alert["incident"], "target": str(alert.get("target", "*"))}
        else:
            matcher = {"source": str(alert.get("source", "*"))}
        silence = self.engine.add_silence(matcher, 3600, "dashboard",
                                          f"silenced from the dashboard: {alert.get('title')}")
        self.message.object = f"Silenced for 1 h ({silence.id}): {matcher}"

    def __panel__(self) -> pn.viewable.Viewable:
        return card("Alerts", self.badge, pn.Row(self.choice, self.ack, self.silence),
                    self.message, self.feed, css_class="fp-alerts")
