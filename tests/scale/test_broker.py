"""RedisBroker against a real redis-server: hubs in one process standing in for processes."""

from __future__ import annotations

import json

from fogpanel.hub import Hub
from fogpanel.scale.broker import RedisBroker
from tests.conftest import wait_until
from tests.scale.test_hub_relay import Inbox


async def test_two_hubs_deliver_the_same_numbered_messages_and_history_survives(redis_server):
    hubs = [Hub(["nodes", "alerts"], history_size=50) for _ in range(2)]
    brokers = [RedisBroker(redis_server.url, hub) for hub in hubs]
    inboxes = [Inbox() for _ in hubs]
    late = None
    try:
        for broker, hub, inbox in zip(brokers, hubs, inboxes, strict=True):
            await broker.start()
            hub.join(inbox, "nodes")
        assert hubs[0].epoch == hubs[1].epoch  # one epoch, from Redis
        for n in range(20):
            hubs[n % 2].publish("nodes", "node_status_update", {"n": n})
        await wait_until(lambda: all(len(i.got) == 20 for i in inboxes))
        for inbox in inboxes:
            assert [m["offset"] for m in inbox.got] == list(range(1, 21))
        assert inboxes[0].got == inboxes[1].got
        # A process that starts later loads the kept history: since works against it.
        late_hub = Hub(["nodes", "alerts"], history_size=50)
        late = RedisBroker(redis_server.url, late_hub)
        await late.start()
        assert late_hub.epoch == hubs[0].epoch
        caught_up = [json.loads(t)["data"]["n"] for t in late_hub.log("nodes").since(
            15, epoch=hubs[0].epoch)]
        assert caught_up == [inboxes[0].got[i]["data"]["n"] for i in range(15, 20)]
        assert all(b.stats()["written"] == 10 for b in brokers)
    finally:
        for broker in [*brokers, late]:
            if broker is not None:
                await broker.stop()
