"""HTTP API under ``/api/ws/``: streams, stats, one connection, and the subscribe explainers.

JSON in and out. Every route but ``streams`` needs ``Authorization: Bearer <token>``. Errors are
``{"error": {"code", "message"}}`` with the status from :mod:`fogpanel.errors`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from tornado.web import RequestHandler

from fogpanel import errors
from fogpanel.protocol.auth import Claims
from fogpanel.server.logs import QuietLogMixin
from fogpanel.server.services import Services
from fogpanel.server.websocket import bearer_token

__all__ = [
    "ConnectionHandler",
    "JsonHandler",
    "PublishHandler",
    "StatsHandler",
    "StreamsHandler",
    "SubscribeHandler",
]

_DESCRIPTIONS = {
    "nodes": ("Betanet mixnode and P2P network status", "nodes_interval"),
    "tasks": ("Fog task progress and queue summary", "tasks_interval"),
    "metrics": ("Composite health and per-service checks", "metrics_interval"),
    "alerts": ("Alerts, sent as soon as they fire or resolve", None),
    "resources": ("Device counts, averages and the busiest devices", "resources_interval"),
    "topology": ("Node/link map, sent when it changes", None),
}


class JsonHandler(QuietLogMixin, RequestHandler):
    """Base: JSON errors, bearer auth, no tracebacks to clients."""

    def initialize(self, services: Callable[[], Services]) -> None:
        self.services = services()

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")

    def send_json(self, obj: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(obj, separators=(",", ":")))

    def fail(self, exc: errors.FogpanelError) -> None:
        if isinstance(exc, errors.AuthError):
            self.set_header("WWW-Authenticate", 'Bearer realm="fogpanel"')
        self.send_json({"error": {"code": exc.code, "message": exc.message, **exc.details}},
                       exc.status)

    def claims(self) -> Claims:
        token = bearer_token(self.request.headers.get("Authorization"))
        return self.services.verifier.verify(token, now=time.time())

    def json_body(self, *, required: bool) -> dict[str, Any]:
        """The request body as a JSON object (``{}`` when empty and not ``required``)."""
        if not self.request.body and not required:
            return {}
        try:
            body = json.loads(self.request.body)
        except ValueError:
            raise errors.BadJson("the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise errors.BadJson("the body must be a JSON object")
        return body

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        # Tornado's own errors (405, 500, ...): a stable JSON body, never a traceback.
        code = {404: "not_found", 405: "method_not_allowed"}.get(status_code, "internal_error")
        self.finish(json.dumps({"error": {"code": code, "message": self._reason}}))

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, errors.FogpanelError):
            self.fail(e)
            return
        super()._handle_request_exception(e)


class StreamsHandler(JsonHandler):
    """``GET /api/ws/streams``: the rooms and their cadence (no auth)."""

    def get(self) -> None:
        rooms = []
        settings = self.services.settings
        for room in self.services.hub.rooms:
            description, setting = _DESCRIPTIONS.get(room, (f"The {room} room", None))
            interval = getattr(settings, setting) if setting else 0
            rooms.append({"name": room, "description": description,
                          "update_interval": interval})
        self.send_json({"streams": rooms, "websocket": "/api/ws/connect"})


class StatsHandler(JsonHandler):
    """``GET /api/ws/stats``: connection and message counters of this process (and, under
    Redis scale-out, every live process's summary in ``cluster``)."""

    async def get(self) -> None:
        self.claims()
        stats = self.services.stats()
        if self.services.broker is not None:
            stats["cluster"] = await self.services.cluster_stats()
        if self.get_query_argument("deep", "") == "1":
            # Counting live Bokeh Documents walks the heap (tens of ms): only when asked, for
            # leak checks.
            from bokeh.document import Document

            stats["dashboard"]["documents"] = self.services.heap.count(Document)
        self.send_json(stats)


class ConnectionHandler(JsonHandler):
    """``GET /api/ws/connections/{id}``: the caller's own connection, or any for an admin."""

    def get(self, connection_id: str) -> None:
        claims = self.claims()
        conn = self.services.connections.get(connection_id)
        if conn is None:
            raise errors.NotFound("no open connection has this id")
        info = conn.describe()
        if not claims.admin and info.get("user") != claims.sub:
            raise errors.Forbidden("this connection belongs to another user")
        self.send_json(info)


class PublishHandler(JsonHandler):
    """``POST /api/ws/publish`` (admin): publish ``{room, type, data}`` or ``{messages: [...]}``.

    Lets other programs (and the fan-out benchmark) put messages into rooms; each message goes
    through the hub exactly like a publisher's, with its offset returned.
    """

    def post(self) -> None:
        if not self.claims().admin:
            raise errors.Forbidden("publishing needs an admin token")
        body = self.json_body(required=True)
        items = body["messages"] if "messages" in body else [body]
        if not isinstance(items, list) or not items:
            raise errors.BadMessage("'messages' must be a non-empty list")
        hub = self.services.hub
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("type"), str) \
                    or not isinstance(item.get("room"), str) or "data" not in item:
                raise errors.BadMessage("each message needs a string room, a string type and data")
            hub.registry.check(item["room"])
        offsets = [hub.publish(item["room"], item["type"], item["data"]) for item in items]
        self.send_json({"offsets": offsets})


class SubscribeHandler(JsonHandler):
    """``POST /api/ws/subscribe`` and ``/unsubscribe``: subscriptions live on the WebSocket."""

    def initialize(self, services: Callable[[], Services], action: str = "subscribe") -> None:
        super().initialize(services)
        self.action = action

    def post(self) -> None:
        self.claims()
        rooms = self.json_body(required=False).get("rooms", [])
        if not isinstance(rooms, list) or not all(isinstance(r, str) for r in rooms):
            raise errors.BadMessage("'rooms' must be a list of room names")
        for room in rooms:
            self.services.hub.registry.check(room)
        self.send_json({
            "message": (f"To {self.action}, open a WebSocket to /api/ws/connect and send this "
                        "message; HTTP cannot hold a subscription."),
            "websocket_url": "/api/ws/connect",
            "example": {"type": self.action, "rooms": rooms or list(self.services.hub.rooms)},
        })
