"""Metric history, statistics, names, summary and recent alerts over HTTP (``/api/ws/...``).

History queries run on a worker thread with their own read-only SQLite connection, so a 7-day
query never stalls the event loop. Unknown metrics get 404 with the name; bad parameters 422
naming the parameter.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from datetime import datetime
from typing import Any

from fogpanel import errors
from fogpanel.metrics.rules import parse_duration
from fogpanel.metrics.store import RESOLUTIONS, pick_resolution
from fogpanel.metrics.windows import WINDOWS
from fogpanel.protocol.messages import iso
from fogpanel.server.http import JsonHandler

__all__ = ["AlertsHandler", "HistoryHandler", "MetricListHandler", "SilenceHandler",
           "SilencesHandler", "StatisticsHandler", "SummaryHandler"]

_MAX_HOURS = 168


def _time_param(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        try:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise errors.BadParameter(f"'{name}' must be epoch seconds or ISO 8601",
                                      parameter=name) from None
    if not math.isfinite(value):
        raise errors.BadParameter(f"'{name}' must be finite", parameter=name)
    return value


class _MetricsHandler(JsonHandler):
    def metric(self) -> str:
        name = self.get_query_argument("metric", None)
        if not name:
            raise errors.BadParameter("'metric' is required", parameter="metric")
        return name

    def known(self, name: str, store_has: bool) -> None:
        if self.services.engine.aggregator.latest(name) is None and not store_has:
            raise errors.UnknownMetric(f"no metric named {name!r}", metric=name)


class MetricListHandler(_MetricsHandler):
    """``GET /api/ws/metrics?prefix=``: metric names known live or in the store."""

    async def get(self) -> None:
        self.claims()
        prefix = self.get_query_argument("prefix", "")
        live = {n for n in self.services.engine.aggregator.series if n.startswith(prefix)}
        reader = self.services.engine.reader()
        if reader is not None:
            def names() -> list[str]:
                try:
                    return reader.names(prefix)
                finally:
                    reader.close()
            live |= set(await asyncio.to_thread(names))
        self.send_json({"metrics": sorted(live), "count": len(live)})


class HistoryHandler(_MetricsHandler):
    """``GET /api/ws/metrics/history?metric=&hours=`` (or ``start``/``end``, ``step``)."""

    async def get(self) -> None:
        self.claims()
        name = self.metric()
        now = time.time()
        start_raw = self.get_query_argument("start", None)
        end_raw = self.get_query_argument("end", None)
        if start_raw is not None:
            start = _time_param("start", start_raw)
            end = _time_param("end", end_raw) if end_raw is not None else now
        else:
            hours_raw = self.get_query_argument("hours", "1")
            try:
                hours = float(hours_raw)
            except ValueError:
                raise errors.BadParameter("'hours' must be a number from 1 to 168",
                                          parameter="hours") from None
            if not 1 <= hours <= _MAX_HOURS:
                raise errors.BadParameter("'hours' must be a number from 1 to 168",
                                          parameter="hours")
            end = _time_param("end", end_raw) if end_raw is not None else now
            start = end - hours * 3600
        if end <= start:
            raise errors.BadParameter("'end' must be after 'start'", parameter="end")
        if end - start > _MAX_HOURS * 3600:
            raise errors.BadParameter("the range may be at most 168 hours", parameter="start")
        step = self.get_query_argument("step", None) or pick_resolution(start, end)
        if step not in RESOLUTIONS:
            raise errors.BadParameter(f"'step' must be one of {', '.join(RESOLUTIONS)}",
                                      parameter="step")
        reader = self.services.engine.reader()
        if reader is None:
            raise errors.NotFound("the history store is off on this server")

        def query() -> tuple[bool, Any]:
            try:
                return reader.has(name), reader.query(name, start, end, step)
            finally:
                reader.close()

        has, frame = await asyncio.to_thread(query)
        self.known(name, has)
        points = json.loads(frame.to_json(orient="records"))
        for p in points:
            p["timestamp"] = iso(p.pop("ts"))
        self.send_json({"metric": name, "resolution": step, "start": iso(start),
                        "end": iso(end), "count": len(points), "points": points})


class StatisticsHandler(_MetricsHandler):
    """``GET /api/ws/metrics/statistics?metric=&window=1m|5m|1h``."""

    def get(self) -> None:
        self.claims()
        name = self.metric()
        window = self.get_query_argument("window", "5m")
        if window not in WINDOWS:
            raise errors.BadParameter(f"'window' must be one of {', '.join(WINDOWS)}",
                                      parameter="window")
        stats = self.services.engine.aggregator.statistics(name, window, time.time())
        if stats is None:
            raise errors.UnknownMetric(f"no metric named {name!r}", metric=name)
        self.send_json({"metric": name, "window": window, **stats})


class SummaryHandler(_MetricsHandler):
    """``GET /api/ws/metrics/summary``: the engine's counters and the latest value per family."""

    def get(self) -> None:
        self.claims()
        agg = self.services.engine.aggregator
        latest = {}
        for name in sorted(agg.series)[:500]:
            value = agg.latest(name)
            if value is not None:
                latest[name] = {"value": value[0], "timestamp": iso(value[1])}
        self.send_json({**self.services.engine.stats(), "latest": latest})


class AlertsHandler(JsonHandler):
    """``GET /api/ws/alerts``: recent alerts (newest first, from the store when there is one,
    so they survive restarts; silenced ones marked ``silenced_by``) and those still firing."""

    async def get(self) -> None:
        self.claims()
        hub = self.services.hub
        if "alerts" not in hub.registry.room_set:
            raise errors.NotFound("this server has no alerts room")
        recent = [json.loads(t)["data"] for t in hub.log("alerts").recent(200)]
        reader = self.services.engine.reader()
        if reader is not None:
            def logged() -> list[str]:
                try:
                    return reader.recent_alerts(200)
                finally:
                    reader.close()
            recent = [json.loads(doc) for doc in reversed(await asyncio.to_thread(logged))]
        resolved = {a.get("alert_id") for a in recent if a.get("state") == "resolved"}
        # Threshold alerts come from the rule engine (it survives restarts); simulator
        # incidents still open come from the room's history.
        incidents = [a for a in recent if a.get("state") == "firing" and a.get("kind") is None
                     and a.get("alert_id") not in resolved]
        active = self.services.engine.active_alerts() + incidents[::-1]
        self.send_json({"active": active, "recent": recent[::-1][:100]})


class SilencesHandler(JsonHandler):
    """``POST /api/ws/silences`` (create) and ``GET /api/ws/silences`` (list)."""

    def get(self) -> None:
        self.claims()
        now = time.time()
        self.send_json({"silences": [s.to_json(now)
                                     for s in self.services.engine.silences.list(now)]})

    def post(self) -> None:
        claims = self.claims()
        body = self.json_body(required=True)
        try:
            duration = parse_duration(body.get("duration"))
        except ValueError:
            raise errors.BadMessage("'duration' must be seconds or like 30m, 2h") from None
        silence = self.services.engine.add_silence(
            body.get("matcher"), duration, body.get("author", claims.sub),
            body.get("comment", ""))
        self.send_json(silence.to_json(time.time()), 201)


class SilenceHandler(JsonHandler):
    """``GET`` / ``DELETE /api/ws/silences/{id}``: one silence; delete expires it now."""

    def get(self, silence_id: str) -> None:
        self.claims()
        silence = self.services.engine.silences.get(silence_id)
        if silence is None:
            raise errors.NotFound(f"no silence {silence_id!r}")
        self.send_json(silence.to_json(time.time()))

    def delete(self, silence_id: str) -> None:
        self.claims()
        if self.services.engine.silences.get(silence_id) is None:
            raise errors.NotFound(f"no silence {silence_id!r}")
        if not self.services.engine.expire_silence(silence_id):
            raise errors.BadMessage("this silence is not active")
        silence = self.services.engine.silences.get(silence_id)
        assert silence is not None
        self.send_json(silence.to_json(time.time()))
