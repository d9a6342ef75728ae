"""The hub without a server: serialise once, drop slow subscribers, snapshots and catch-up."""

from __future__ import annotations

import json

from fogpanel.hub import Hub, Outbound


class Inbox:
    def __init__(self, capacity: int = 10**9) -> None:
        self.got: list[Outbound] = []
        self.capacity = capacity
        self.closed = False

    def deliver(self, out: Outbound) -> bool:
        if len(self.got) >= self.capacity:
            return False
        self.got.append(out)
        return True

    def close_slow(self) -> None:
        self.closed = True


def test_broadcast_is_serialised_once_for_all_subscribers():
    """Every subscriber receives the very same Outbound (one JSON text, one frame)."""
    hub = Hub(["nodes"], clock=lambda: 0.0)
    inboxes = [Inbox() for _ in range(50)]
    for inbox in inboxes:
        hub.join(inbox, "nodes")
    hub.publish("nodes", "t", {"a": 1})
    outs = {id(inbox.got[0]) for inbox in inboxes}
    assert len(outs) == 1
    assert inboxes[0].got[0].frame is inboxes[1].got[0].frame


def test_full_subscriber_is_dropped_and_others_keep_receiving():
    """A subscriber whose buffer is full is closed and removed; the others get everything."""
    hub = Hub(["nodes"], clock=lambda: 0.0)
    slow, fast = Inbox(capacity=2), Inbox()
    hub.join(slow, "nodes")
    hub.join(fast, "nodes")
    for n in range(5):
        hub.publish("nodes", "t", n)
    assert slow.closed and hub.slow_closed == 1
    assert [json.loads(o.text)["data"] for o in fast.got] == [0, 1, 2, 3, 4]
    assert hub.registry.counts()["nodes"] == 1
    assert hub.delivered == 2 + 5


def test_offsets_are_per_room():
    """Each room numbers its own messages from 1."""
    hub = Hub(["a", "b"], clock=lambda: 0.0)
    offsets = [hub.publish("a", "t", 0), hub.publish("a", "t", 0), hub.publish("b", "t", 0)]
    assert offsets == [1, 2, 1]
