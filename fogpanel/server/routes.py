"""The route table for the API, built around a process's :class:`Services`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fogpanel.server.http import (
    ConnectionHandler,
    PublishHandler,
    StatsHandler,
    StreamsHandler,
    SubscribeHandler,
)
from fogpanel.server.ingest import IncidentHandler, IngestHandler
from fogpanel.server.metrics_http import (
    AlertsHandler,
    HistoryHandler,
    MetricListHandler,
    SilenceHandler,
    SilencesHandler,
    StatisticsHandler,
    SummaryHandler,
)
from fogpanel.server.services import Services
from fogpanel.server.websocket import ApiSocketHandler

__all__ = ["build_routes"]


def build_routes(
    services: Services | Callable[[], Services],
) -> list[tuple[str, type, dict[str, Any]]]:
    """Tornado URL specs for ``/api/ws/...`` and ``/api/...``.

    Each handler is given a provider of the services and calls it per request: the route table of
    ``panel serve --num-procs N`` is built before Tornado forks, and each forked process builds its
    own services afterwards (a provider such as :func:`~fogpanel.server.services.get_services`).
    """
    provider = services if callable(services) else (lambda: services)
    deps = {"services": provider}
    return [
        (r"/api/ws/connect", ApiSocketHandler, deps),
        (r"/api/ws/streams", StreamsHandler, deps),
        (r"/api/ws/stats", StatsHandler, deps),
        (r"/api/ws/connections/([A-Za-z0-9_-]+)", ConnectionHandler, deps),
        (r"/api/ws/publish", PublishHandler, deps),
        (r"/api/ws/subscribe", SubscribeHandler, {**deps, "action": "subscribe"}),
        (r"/api/ws/unsubscribe", SubscribeHandler, {**deps, "action": "unsubscribe"}),
        (r"/api/ws/metrics", MetricListHandler, deps),
        (r"/api/ws/metrics/history", HistoryHandler, deps),
        (r"/api/ws/metrics/statistics", StatisticsHandler, deps),
        (r"/api/ws/metrics/summary", SummaryHandler, deps),
        (r"/api/ws/alerts", AlertsHandler, deps),
        (r"/api/ws/silences", SilencesHandler, deps),
        (r"/api/ws/silences/([A-Za-z0-9_-]+)", SilenceHandler, deps),
        (r"/api/ingest", IngestHandler, deps),
        (r"/api/sim/incidents", IncidentHandler, deps),
    ]
