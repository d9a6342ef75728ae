"""The naive fan-out baseline: what the predecessor did, as a bare Tornado server.

Per broadcast it calls ``json.dumps`` once per subscriber and awaits ``asyncio.gather`` over
``write_message`` for all of them. It speaks just enough of the fogpanel protocol for
``bench/fanout.py`` (token in the query, subscribe, ``POST /api/ws/publish``, ``GET /stats``) and
verifies the JWT like fogpanel does, so the comparison is about fan-out, not auth.

Run: ``python bench/naive_server.py PORT`` (secret from ``FOGPANEL_SECRET``).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from datetime import UTC, datetime

import jwt
from tornado.ioloop import IOLoop
from tornado.web import Application, RequestHandler
from tornado.websocket import WebSocketHandler

SECRET = os.environ["FOGPANEL_SECRET"]


class State:
    def __init__(self) -> None:
        self.rooms: dict[str, set[Connect]] = {}
        self.offsets: dict[str, int] = {}
        self.delivered = 0
        self.fanout_seconds = 0.0
        self.fanout_max = 0.0


class Connect(WebSocketHandler):
    def initialize(self, state: State) -> None:
        self.state = state
        self.rooms: set[str] = set()

    async def get(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            jwt.decode(self.get_query_argument("token", ""), SECRET, algorithms=["HS256"],
                       options={"require": ["exp", "sub"]})
        except jwt.InvalidTokenError:
            self.set_status(401)
            self.finish()
            return
        await super().get(*args, **kwargs)

    def open(self) -> None:
        self.write_message(json.dumps({"type": "connection_established",
                                       "connection_id": str(id(self))}))

    def on_message(self, message):  # type: ignore[no-untyped-def]
        msg = json.loads(message)
        if msg.get("type") == "subscribe":
            for room in msg["rooms"]:
                self.state.rooms.setdefault(room, set()).add(self)
                self.rooms.add(room)
                self.write_message(json.dumps({"type": "subscription_confirmed", "room": room}))

    def on_close(self) -> None:
        for room in self.rooms:
            self.state.rooms[room].discard(self)


class Publish(RequestHandler):
    def initialize(self, state: State) -> None:
        self.state = state

    async def post(self) -> None:
        body = json.loads(self.request.body)
        items = body.get("messages", [body])
        offsets = []
        for item in items:
            room = item["room"]
            offset = self.state.offsets.get(room, 0) + 1
            self.state.offsets[room] = offset
            message = {"type": item["type"], "room": room, "data": item["data"],
                       "timestamp": datetime.now(UTC).isoformat(), "offset": offset}
            subs = list(self.state.rooms.get(room, ()))
            started = time.perf_counter()
            # The predecessor's pattern: serialise per subscriber, then gather the writes.
            results = await asyncio.gather(
                *(sub.write_message(json.dumps(message)) for sub in subs),
                return_exceptions=True)
            took = time.perf_counter() - started
            self.state.fanout_seconds += took
            self.state.fanout_max = max(self.state.fanout_max, took)
            self.state.delivered += sum(1 for r in results if not isinstance(r, Exception))
            offsets.append(offset)
        self.finish({"offsets": offsets})


class Stats(RequestHandler):
    def initialize(self, state: State) -> None:
        self.state = state

    def get(self) -> None:
        self.finish({"messages_delivered": self.state.delivered,
                     "fanout_seconds_total": self.state.fanout_seconds,
                     "fanout_seconds_max": self.state.fanout_max,
                     "active_connections": sum(len(s) for s in self.state.rooms.values())})


def main() -> None:
    port = int(sys.argv[1])
    state = State()
    deps = {"state": state}
    app = Application([(r"/api/ws/connect", Connect, deps), (r"/api/ws/publish", Publish, deps),
                       (r"/api/ws/stats", Stats, deps)])
    app.listen(port, "127.0.0.1")
    print(f"naive server on {port}", flush=True)
    IOLoop.current().start()


if __name__ == "__main__":
    main()
