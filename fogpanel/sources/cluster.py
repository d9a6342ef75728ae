"""The cluster as the publishers see it: the enabled sources behind one view.

Simulated devices, the host and agent-reported devices appear in one device list, each marked
with its ``source`` and whether it is ``real``. ``sources(now)`` tells which sources are live.
"""

from __future__ import annotations

import time
from typing import Any

from fogpanel.config import Settings
from fogpanel.sources.health import HealthBoard
from fogpanel.sources.host import HostSource
from fogpanel.sources.ingest import AgentRegistry
from fogpanel.sources.simulator import Simulator

__all__ = ["Cluster", "build_cluster"]


class Cluster:
    """The enabled sources; any of them may be None."""

    def __init__(
        self,
        *,
        simulator: Simulator | None = None,
        host: HostSource | None = None,
        agents: AgentRegistry | None = None,
    ) -> None:
        self.simulator = simulator
        self.host = host
        self.agents = agents
        self.health = HealthBoard()

    def step(self, now: float) -> None:
        if self.simulator is not None:
            self.simulator.step(now)

    def sources(self, now: float) -> dict[str, Any]:
        return {
            "simulator": self.simulator is not None,
            "host": self.host is not None,
            "agents": self.agents.live_count(now) if self.agents is not None else None,
        }

    def devices(self, now: float) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        if self.simulator is not None:
            rows += self.simulator.devices()
        if self.host is not None:
            self.host.step()
            rows.append(self.host.device())
        if self.agents is not None:
            rows += self.agents.devices(now)
        return rows


def build_cluster(settings: Settings, now: float | None = None) -> Cluster:
    """The sources chosen by ``settings.sources``."""
    now = time.time() if now is None else now
    chosen = set(settings.sources)
    return Cluster(
        simulator=Simulator(seed=settings.seed, nodes=settings.sim_nodes,
                            devices=settings.sim_devices, task_rate=settings.sim_task_rate,
                            now=now, incident_interval=settings.incident_interval)
        if "simulator" in chosen else None,
        host=HostSource() if "host" in chosen else None,
        agents=AgentRegistry(settings.agent_stale_after, settings.agent_offline_after)
        if "agents" in chosen else None,
    )
