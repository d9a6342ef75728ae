"""The embedded fog-cluster simulator: network, device fleet, tasks and incidents, one clock.

Seeded and deterministic: the same seed stepped at the same times gives the same stream. Time
only enters through ``step(now)``, so tests step it with a fake clock and the server steps it
with the wall clock every ``sim_tick`` seconds.

Examples
--------
>>> sim = Simulator(seed=7, nodes=8, devices=20, task_rate=1.0, now=0.0)
>>> for t in range(1, 61):
...     sim.step(float(t))
>>> sim.tasks.summary()["total"] > 0, sim.betanet()["available"]
(True, True)
>>> inc = sim.trigger("cpu_runaway", now=61.0); sim.step(62.0)
>>> sim.devices()[sim.fleet.index(inc.target)]["status"]
'overloaded'
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fogpanel.sources.devices import Fleet
from fogpanel.sources.incidents import KINDS, Incident, IncidentBook
from fogpanel.sources.network import Network
from fogpanel.sources.tasks import TaskQueue

__all__ = ["Simulator"]


class Simulator:
    """A living fog cluster."""

    def __init__(
        self,
        *,
        seed: int = 42,
        nodes: int = 20,
        devices: int = 50,
        task_rate: float = 3.0,
        now: float,
        incident_interval: float = 900.0,
    ) -> None:
        self.seed = seed
        self.network = Network(seed, nodes, now)
        self.fleet = Fleet(seed, devices, now)
        self.tasks = TaskQueue(seed, task_rate)
        self.incidents = IncidentBook(seed, incident_interval, now)
        self.now = now

    def step(self, now: float) -> None:
        """Advance everything to ``now`` (a no-op if time did not move forward)."""
        if now <= self.now:
            return
        self.now = now
        for inc in self.incidents.due_to_end(now):
            self._apply(inc, active=False)
        kind = self.incidents.scheduled_kind(now)
        if kind is not None:
            self.trigger(kind, now=now)
        fleet = self.fleet
        fleet.step(now, self.tasks.load(fleet.size))
        self.tasks.step(now, speed=fleet.speed, cpu=fleet.cpu, slots=fleet.slots,
                        online=fleet.online)
        self.network.step(now, load=float(np.mean(fleet.cpu)) / 100.0 if fleet.size else 0.0)

    # -- incidents --------------------------------------------------------------------------

    def trigger(self, kind: str, target: str | None = None, *, now: float) -> Incident:
        """Start an incident now (``target`` picked at random when not given)."""
        if kind not in KINDS:
            raise ValueError(f"unknown incident kind {kind!r}; one of {sorted(KINDS)}")
        if target is None:
            target = self._pick_target(kind)
        elif not self._valid_target(kind, target):
            raise ValueError(f"{target!r} is not a valid target for {kind}")
        inc = self.incidents.open(kind, target, now)
        self._apply(inc, active=True)
        return inc

    def _candidates(self, kind: str) -> list[str]:
        if kind == "cpu_runaway":
            return [d for i, d in enumerate(self.fleet.ids) if self.fleet.online[i]]
        if kind == "latency_degradation":
            return [n.id for n in self.network.alive() if n.role == "mixnode"]
        if kind == "node_crash":
            return [n.id for n in self.network.alive() if n.role != "gateway"]
        return ["scheduler"]

    def _pick_target(self, kind: str) -> str:
        options = self._candidates(kind)
        if not options:
            raise ValueError(f"no target available for {kind}")
        return self.incidents.pick(options)

    def _valid_target(self, kind: str, target: str) -> bool:
        return target in self._candidates(kind)

    def _apply(self, inc: Incident, *, active: bool) -> None:
        if inc.kind == "cpu_runaway":
            self.fleet.runaway[self.fleet.index(inc.target)] = active
        elif inc.kind == "latency_degradation":
            node = self.network.nodes.get(inc.target)
            if node is not None:
                node.extra_latency_ms = 400.0 if active else 0.0
        elif inc.kind == "node_crash":
            if active:
                self.network.kill(inc.target)
            else:
                self.network.revive(inc.target)
        elif inc.kind == "task_failure_burst":
            self.tasks.burst_until = inc.ends if active else self.now

    def drain_alerts(self) -> list[dict[str, Any]]:
        """Alerts queued by incidents starting or ending since the last drain."""
        return self.incidents.drain_alerts()

    # -- views ------------------------------------------------------------------------------

    def betanet(self) -> dict[str, Any]:
        return self.network.betanet()

    def p2p(self) -> dict[str, Any]:
        return self.network.p2p()

    def topology(self) -> dict[str, Any]:
        return self.network.topology()

    def devices(self) -> list[dict[str, Any]]:
        return self.fleet.rows()

    def task_rows(self, limit: int = 50) -> list[dict[str, Any]]:
        return self.tasks.rows(self.now, self.fleet.ids, limit)

    def service_checks(self) -> dict[str, tuple[str, float]]:
        """Each platform service's health now: (status, response time ms)."""
        rng_ms = 5.0 + 2.0 * (self.network.change_number % 5)
        beta = self.betanet()
        p2p = self.p2p()
        summary = self.tasks.summary()
        overloaded = int(np.sum(self.fleet.cpu >= 90)) if self.fleet.size else 0
        burst = self.now < self.tasks.burst_until
        return {
            "betanet-gateway": (
                "unhealthy" if not beta["available"]
                else "degraded" if beta["avg_latency_ms"] > 90 else "healthy",
                beta["avg_latency_ms"] or rng_ms),
            "p2p-router": ("healthy" if p2p["available"] else "unhealthy", rng_ms + 3),
            "task-scheduler": (
                "unhealthy" if burst else "degraded" if summary["pending"] > 50 else "healthy",
                rng_ms + summary["pending"] * 0.2),
            "device-fleet": (
                "degraded" if overloaded > max(1, self.fleet.size // 10)
                or (overloaded and self.fleet.size < 10) else "healthy",
                rng_ms + 1),
        }

    def samples(self) -> list[tuple[str, float]]:
        """Dotted metric samples for the metrics sink."""
        out: list[tuple[str, float]] = []
        beta, p2p = self.betanet(), self.p2p()
        for key in ("active_nodes", "connections", "avg_latency_ms", "packets_per_second"):
            out.append((f"betanet.{key}", float(beta[key])))
        for key in ("connected_peers", "messages_sent_per_second",
                    "messages_received_per_second"):
            out.append((f"p2p.{key}", float(p2p[key])))
        s = self.tasks.summary()
        out += [(f"tasks.{k}", float(v)) for k, v in s.items()]
        out.append(("tasks.failed_rate", self.tasks.failed_rate))
        return out
