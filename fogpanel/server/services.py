"""The composition root: the services one fogpanel process shares, built once.

``fogpanel serve``, the ``panel serve --plugins fogpanel.server.plugin`` route module, ``app.py``
and the tests all obtain their hub, verifier, limits and connection table here, and handlers
receive them through the route table, so nothing lives in module globals of the handlers and
``app.py`` (re-executed per Panel session) holds no state of its own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import resource
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from redis.exceptions import RedisError

from fogpanel.backoff import Backoff, BackoffPolicy
from fogpanel.config import Settings
from fogpanel.dashboard.feed import SessionFeed
from fogpanel.errors import ConfigError
from fogpanel.hub import Hub
from fogpanel.metrics.aggregator import DEFAULT_DETECTORS, Aggregator, parse_detector_rules
from fogpanel.metrics.engine import MetricsEngine
from fogpanel.metrics.rules import DEFAULT_RULES, Rule, RuleEngine, load_rules
from fogpanel.metrics.sink import Sample
from fogpanel.metrics.store import StoreWriter
from fogpanel.protocol.auth import Verifier
from fogpanel.protocol.ratelimit import SlidingWindow
from fogpanel.publishers import PublisherRunner, RoomPublishers
from fogpanel.scale.broker import RedisBroker
from fogpanel.scale.ingest import IngestRelay
from fogpanel.scale.leader import LeaderLease
from fogpanel.scale.limits import GlobalConnectionLimit
from fogpanel.server.heap import HeapFreezer
from fogpanel.server.looplag import LagWindow, monitor
from fogpanel.sources.cluster import Cluster, build_cluster
from fogpanel.sources.ingest import Report

__all__ = [
    "Connection", "Services", "alert_rules", "build_services", "get_services", "set_services",
]

logger = logging.getLogger("fogpanel.server")

# File descriptors kept free for HTTP requests, the dashboard, SQLite and logs when the
# connection cap is derived from RLIMIT_NOFILE.
_FD_HEADROOM = 1024

# Waiting for Redis at start-up: 0.5 s doubling to 10 s, jittered.
_START_RETRY = BackoffPolicy(initial=0.5, maximum=10.0)


class Connection(Protocol):
    """What the services know of an open API connection."""

    connection_id: str

    def describe(self) -> dict[str, Any]: ...

    def shutdown(self, code: int, reason: str) -> None: ...


@dataclass
class Services:
    """Everything one process shares between its handlers, dashboard sessions and publishers."""

    settings: Settings
    hub: Hub
    verifier: Verifier
    connection_limiter: SlidingWindow
    max_connections: int
    cluster: Cluster
    engine: MetricsEngine
    rooms: RoomPublishers
    runner: PublisherRunner
    started_at: float = field(default_factory=time.time)
    connections: dict[str, Connection] = field(default_factory=dict)
    connections_total: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    loop_lag: LagWindow = field(default_factory=LagWindow)
    heap: HeapFreezer = field(default_factory=lambda: HeapFreezer(_call_later))
    process_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    broker: RedisBroker | None = None  # when FOGPANEL_REDIS_URL is set
    lease: LeaderLease | None = None  # likewise
    ingest_relay: IngestRelay | None = None  # likewise
    conn_limit: GlobalConnectionLimit | None = None  # likewise
    _lag_task: asyncio.Task[None] | None = None
    _scale_task: asyncio.Task[None] | None = None

    def new_connection_id(self) -> str:
        return uuid.uuid4().hex

    def register(self, conn: Connection) -> None:
        self.connections[conn.connection_id] = conn
        self.connections_total += 1

    def unregister(self, conn: Connection) -> None:
        self.connections.pop(conn.connection_id, None)

    def refuse(self, code: str) -> None:
        self.refused[code] = self.refused.get(code, 0) + 1

    def admit_user(self, sub: str, now: float) -> float:
        """The per-user connection rate limit: 0 to admit, else seconds to wait."""
        return self.connection_limiter.hit(sub, now)

    async def admit_connection(self, sub: str, now: float) -> float:
        """Like :meth:`admit_user`, counted across every process when Redis is configured
        (this process's own count if Redis cannot answer)."""
        if self.conn_limit is not None:
            try:
                return await self.conn_limit.hit(sub, now)
            except RedisError:
                logger.warning("cluster-wide connection limit unavailable; counting locally")
        return self.admit_user(sub, now)

    def start(self) -> None:
        """Start the publishers on the running loop; a second call does nothing. With Redis,
        connect the hub to it and run the publishers only while this process leads."""
        if self.runner.running or self._scale_task is not None:
            return
        if self.settings.redis_url:
            self._scale_task = asyncio.get_running_loop().create_task(self._run_scaled())
        else:
            self.runner.start()
        self._lag_task = asyncio.get_running_loop().create_task(monitor(self.loop_lag))
        logger.info("fogpanel services started: sources %s, %d publishers",
                    ",".join(self.settings.sources), len(self.runner.publishers))

    async def _run_scaled(self) -> None:
        self.broker = RedisBroker(self.settings.redis_url, self.hub)
        backoff = Backoff(_START_RETRY)
        while True:
            try:
                await self.broker.start()
                break
            except RedisError as exc:
                delay = backoff.next_delay() or 0.0
                logger.error("Redis at FOGPANEL_REDIS_URL unreachable (%s); retrying in %.1f s",
                             exc, delay)
                await asyncio.sleep(delay)  # backoff until Redis is there
        self.conn_limit = GlobalConnectionLimit(
            self.broker.redis, self.broker.prefix, self.settings.connections_per_minute)
        relay = self.ingest_relay = IngestRelay(self.broker.redis, self.broker.prefix,
                                                self.apply_reports)

        async def lost() -> None:
            await self.runner.stop()
            await relay.stop()

        def gained() -> None:
            self.runner.start()
            relay.start()

        self.lease = LeaderLease(self.broker.redis, self.broker.key("leader"), self.process_id,
                                 ttl=self.settings.leader_ttl, on_gain=gained, on_loss=lost)
        reporting = asyncio.get_running_loop().create_task(self._report_loop())
        try:
            await self.lease.run()
        finally:
            reporting.cancel()

    def joined(self) -> bool:
        """Whether API clients can be served: always without Redis; with Redis once the room
        history has been loaded from it (it stays joined through a later outage)."""
        return not self.settings.redis_url or self.broker is not None and self.broker.started

    def leads(self) -> bool:
        """Whether this process runs the publishers (always, without Redis)."""
        return self.lease is None or self.lease.leader

    async def apply_reports(self, reports: list[Report], reported_by: str) -> None:
        """Record agents' reports: the device registry, then the samples, committed."""
        agents = self.cluster.agents
        if agents is None:
            return
        now = time.time()
        samples = []
        for report in reports:
            agents.accept(report, reported_by=reported_by, now=now)
            samples += [Sample(f"device.{report.node_id}.{name}", value, report.timestamp)
                        for name, value in report.metrics.items()]
        await self.engine.record_durable(samples)

    def _summary(self) -> dict[str, Any]:
        return {"id": self.process_id, "pid": os.getpid(), "at": time.time(),
                "leader": bool(self.lease and self.lease.leader),
                "active_connections": len(self.connections), "dashboard_feeds": SessionFeed.live,
                "redis_connected": bool(self.broker and self.broker.connected)}

    async def _report_loop(self) -> None:
        """Publish this process's summary in Redis for the other processes' stats."""
        assert self.broker is not None
        while True:
            try:
                await self.broker.redis.hset(self.broker.key("processes"), self.process_id,
                                             json.dumps(self._summary()))
            except RedisError:
                pass  # the outage is reported by the broker
            await asyncio.sleep(self.settings.leader_ttl / 3)  # the report cadence

    async def cluster_stats(self) -> dict[str, Any]:
        """Every process seen in the last three report periods (this one always)."""
        assert self.broker is not None
        try:
            raw = await self.broker.redis.hgetall(self.broker.key("processes"))
        except RedisError:
            raw = {}
        fresh = time.time() - self.settings.leader_ttl
        procs = {p["id"]: p for p in map(json.loads, raw.values()) if p.get("at", 0) >= fresh}
        procs[self.process_id] = self._summary()
        listed = sorted(procs.values(), key=lambda p: p["id"])
        return {"processes": listed, "leaders": sum(p["leader"] for p in listed),
                "active_connections": sum(p["active_connections"] for p in listed)}

    async def stop(self) -> None:
        """Stop the publishers and close every API connection with 1001 (going away)."""
        if self._scale_task is not None:
            self._scale_task.cancel()
            await asyncio.gather(self._scale_task, return_exceptions=True)
            self._scale_task = None
            if self.lease is not None:
                await self.lease.release()
            if self.broker is not None:
                await self.broker.stop()
        await self.runner.stop()
        if self._lag_task is not None:
            self._lag_task.cancel()
            await asyncio.gather(self._lag_task, return_exceptions=True)
            self._lag_task = None
        self.engine.close()
        for conn in list(self.connections.values()):
            conn.shutdown(1001, "server shutting down")

    def stats(self) -> dict[str, Any]:
        """The process's figures for ``/api/ws/stats``."""
        hub = self.hub.stats()
        return {
            "total_connections": self.connections_total,
            "active_connections": len(self.connections),
            "max_connections": self.max_connections,
            "total_messages": hub["messages_delivered"],
            "messages_published": hub["messages_published"],
            "messages_delivered": hub["messages_delivered"],
            "slow_closed": hub["slow_closed"],
            "fanout_seconds_total": hub["fanout_seconds_total"],
            "fanout_seconds_max": hub["fanout_seconds_max"],
            "refused": dict(self.refused),
            "rooms": hub["rooms"],
            "epoch": hub["epoch"],
            "uptime_seconds": round(time.time() - self.started_at, 3),
            "publishers": self.runner.stats(),
            "sources": self.cluster.sources(time.time()),
            "agent_devices": self.cluster.agents.devices(time.time())
            if self.cluster.agents is not None else [],
            "metrics": self.engine.stats(),
            "loop_lag": self.loop_lag.stats(),
            "dashboard": {"feeds": SessionFeed.live},
            "heap": self.heap.stats(),
            "process": {"id": self.process_id, "pid": os.getpid(),
                        "leader": self.lease.leader if self.lease is not None
                        else self.runner.running,
                        "open_fds": _open_fds(), "tasks": len(asyncio.all_tasks())},
            "redis": self.broker.stats() if self.broker is not None else None,
        }


def _open_fds() -> int | None:
    """File descriptors this process holds (Linux), to see connections or sockets leak."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return None


def _connection_cap(requested: int) -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return requested
    return max(1, min(requested, soft - _FD_HEADROOM))


def build_engine(settings: Settings, hub: Hub) -> MetricsEngine:
    """The metrics engine; its alerts go to the ``alerts`` room (when the room exists)."""
    writer = None
    if settings.history_path:
        Path(settings.history_path).parent.mkdir(parents=True, exist_ok=True)
        writer = StoreWriter(settings.history_path, flush_interval=settings.flush_interval,
                             rollup_1h_days=settings.rollup_1h_days)

    def publish_alert(alert: dict[str, Any]) -> None:
        if "alerts" in hub.registry.room_set:
            hub.publish("alerts", "alert", alert)

    detectors, thresholds = alert_rules(settings)
    aggregator = Aggregator(
        detector_rules=detectors,
        learn_samples=settings.anomaly_learn_samples, cooldown=settings.anomaly_cooldown)
    return MetricsEngine(aggregator, writer, publish_alert, rules=RuleEngine(list(thresholds)))


def alert_rules(settings: Settings) -> tuple[list[tuple[str, str]], list[Rule]]:
    """The anomaly detector rules and threshold rules the settings name; a :class:`ConfigError`
    for a bad spec or rules file (checked before ``panel serve --num-procs`` forks, too)."""
    try:
        detectors = parse_detector_rules(settings.detectors or DEFAULT_DETECTORS)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    try:
        thresholds = load_rules(settings.rules_file) if settings.rules_file else DEFAULT_RULES
    except (OSError, ValueError) as exc:
        raise ConfigError(f"rules file: {exc}") from None
    return list(detectors), list(thresholds)


def _call_later(delay: float, callback: Any) -> None:
    asyncio.get_running_loop().call_later(delay, callback)


def build_services(settings: Settings) -> Services:
    """Build a process's services from validated settings (does not start publishers)."""
    hub = Hub(settings.rooms, history_size=settings.history_size)
    cluster = build_cluster(settings)
    engine = build_engine(settings, hub)
    rooms = RoomPublishers(cluster, engine, settings, alert_filter=engine.keep)
    publishers = [p for p in rooms.publishers() if p.room in hub.registry.room_set]
    return Services(
        settings=settings,
        hub=hub,
        verifier=Verifier(settings.secret, settings.jwt_algorithm,
                          audience=settings.jwt_audience, issuer=settings.jwt_issuer),
        connection_limiter=SlidingWindow(settings.connections_per_minute, 60.0),
        max_connections=_connection_cap(settings.max_connections),
        cluster=cluster,
        engine=engine,
        rooms=rooms,
        runner=PublisherRunner(hub, publishers),
    )


_process_services: Services | None = None


def get_services() -> Services:
    """This process's services, built from the environment on first use."""
    global _process_services
    if _process_services is None:
        _process_services = build_services(Settings.from_env())
    return _process_services


def set_services(services: Services | None) -> None:
    """Install ``services`` as this process's (``fogpanel serve`` builds them from its CLI)."""
    global _process_services
    _process_services = services
