"""The simulated overlay network: nodes with roles, links with latencies, Betanet and P2P counters.

Nodes join and leave over time, so the adjacency list changes; ``change_number`` counts every
change of the node set or of the links, not only of the totals. Counters (packets processed,
P2P messages) only grow, and their per-second rates are derived from them.

Examples
--------
>>> net = Network(seed=1, size=6, now=0.0)
>>> net.step(now=10.0, load=0.5)
>>> snap = net.betanet(); snap["active_nodes"] > 0 and snap["available"]
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Network", "Node"]

_ROLES = ("gateway", "mixnode", "mixnode", "mixnode", "relay")
_REGIONS = ("eu-west", "eu-central", "us-east", "ap-south")


@dataclass
class Node:
    """One overlay node."""

    id: str
    role: str
    region: str
    base_latency_ms: float
    alive: bool = True
    extra_latency_ms: float = 0.0
    links: dict[str, float] = field(default_factory=dict)


class Network:
    """Nodes, links and network counters, advanced by :meth:`step`."""

    def __init__(self, seed: int, size: int, now: float, *, churn_per_hour: float = 6.0) -> None:
        self._rng = np.random.default_rng([seed, 1])
        self._churn = churn_per_hour / 3600.0
        self._next_id = 0
        self.nodes: dict[str, Node] = {}
        self.change_number = 0
        self.packets_processed = 0
        self.messages_sent = 0
        self.messages_received = 0
        self._rates: dict[str, float] = {"packets": 0.0, "sent": 0.0, "received": 0.0}
        self._last = now
        for _ in range(size):
            self._add_node()
        self.change_number = 1

    # -- membership -------------------------------------------------------------------------

    def _add_node(self) -> Node:
        rng = self._rng
        node = Node(
            id=f"node-{self._next_id:03d}",
            role="gateway" if self._next_id == 0 else _ROLES[int(rng.integers(len(_ROLES)))],
            region=_REGIONS[int(rng.integers(len(_REGIONS)))],
            base_latency_ms=float(rng.uniform(8, 40)),
        )
        self._next_id += 1
        alive = [n for n in self.nodes.values() if n.alive]
        k = min(len(alive), 3)
        if k:
            for idx in rng.choice(len(alive), size=k, replace=False):
                self._link(node, alive[int(idx)])
        self.nodes[node.id] = node
        self.change_number += 1
        return node

    def _link(self, a: Node, b: Node) -> None:
        latency = round((a.base_latency_ms + b.base_latency_ms) / 2
                        + (0 if a.region == b.region else 35.0), 2)
        a.links[b.id] = latency
        b.links[a.id] = latency

    def kill(self, node_id: str) -> bool:
        """Take a node down (crash or leave): its links go with it."""
        node = self.nodes.get(node_id)
        if node is None or not node.alive:
            return False
        node.alive = False
        for other in list(node.links):
            self.nodes[other].links.pop(node.id, None)
        node.links.clear()
        self.change_number += 1
        return True

    def revive(self, node_id: str) -> bool:
        """Bring a dead node back, linked to up to three live nodes."""
        node = self.nodes.get(node_id)
        if node is None or node.alive:
            return False
        node.alive = True
        alive = [n for n in self.nodes.values() if n.alive and n.id != node_id]
        if alive:
            for idx in self._rng.choice(len(alive), size=min(3, len(alive)), replace=False):
                self._link(node, alive[int(idx)])
        self.change_number += 1
        return True

    def alive(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.alive]

    # -- time -------------------------------------------------------------------------------

    def step(self, now: float, load: float) -> None:
        """Advance to ``now``: churn, and counters at a rate that follows ``load`` (0..1)."""
        dt = max(0.0, now - self._last)
        self._last = now
        if dt == 0:
            return
        rng = self._rng
        alive = self.alive()
        if alive and rng.random() < 1 - math.exp(-self._churn * dt):
            leaver = alive[int(rng.integers(len(alive)))]
            if leaver.role != "gateway":
                self.kill(leaver.id)
        if rng.random() < 1 - math.exp(-self._churn * dt):
            dead = [n for n in self.nodes.values() if not n.alive]
            if dead:
                self.revive(dead[int(rng.integers(len(dead)))].id)
            else:
                self._add_node()
        mix = sum(1 for n in self.alive() if n.role in ("mixnode", "gateway"))
        peers = len(self.alive())
        packets = rng.poisson(max(0.0, mix * (40 + 160 * load)) * dt)
        sent = rng.poisson(max(0.0, peers * (5 + 20 * load)) * dt)
        received = rng.poisson(max(0.0, peers * (5 + 20 * load)) * dt * 0.98)
        self.packets_processed += int(packets)
        self.messages_sent += int(sent)
        self.messages_received += int(received)
        self._rates = {"packets": packets / dt, "sent": sent / dt, "received": received / dt}

    # -- views ------------------------------------------------------------------------------

    def _links(self) -> list[tuple[str, str, float]]:
        return [(a.id, b, lat) for a in self.alive() for b, lat in a.links.items() if a.id < b]

    def betanet(self) -> dict[str, Any]:
        """Betanet mixnode figures (the predecessor's field names, plus the packet rate)."""
        nodes = [n for n in self.alive() if n.role in ("mixnode", "gateway")]
        ids = {n.id for n in nodes}
        links = [(a, b, lat) for a, b, lat in self._links() if a in ids and b in ids]
        latencies = [lat + self.nodes[a].extra_latency_ms / 2 + self.nodes[b].extra_latency_ms / 2
                     for a, b, lat in links]
        return {
            "active_nodes": len(nodes),
            "connections": len(links),
            "avg_latency_ms": round(sum(latencies) / len(latencies), 2) if latencies else 0.0,
            "packets_processed": self.packets_processed,
            "packets_per_second": round(self._rates["packets"], 2),
            "available": bool(nodes),
        }

    def p2p(self) -> dict[str, Any]:
        """P2P figures: counters and their per-second rates."""
        alive = self.alive()
        return {
            "connected_peers": len(alive),
            "messages_sent": self.messages_sent,
            "messages_received": self.messages_received,
            "messages_sent_per_second": round(self._rates["sent"], 2),
            "messages_received_per_second": round(self._rates["received"], 2),
            "available": len(alive) > 1,
        }

    def topology(self) -> dict[str, Any]:
        """The node/link map: nodes with roles and health, links with latencies."""
        nodes = [{"id": n.id, "role": n.role, "region": n.region,
                  "status": "degraded" if n.extra_latency_ms > 0 else "healthy"}
                 for n in self.alive()]
        links = [{"source": a, "target": b, "latency_ms": lat} for a, b, lat in self._links()]
        return {"active_nodes": len(nodes), "connections": len(links), "nodes": nodes,
                "links": links, "change_number": self.change_number}
