"""The hub's broker side (no Redis here): relayed messages keep the broker's offsets."""

from __future__ import annotations

import json

import pytest

from fogpanel.errors import HistoryGap
from fogpanel.hub import Hub
from fogpanel.scale.broker import stream_text


class Inbox:
    def __init__(self) -> None:
        self.got: list[dict] = []

    def deliver(self, out) -> bool:
        self.got.append(json.loads(out.text))
        return True

    def close_slow(self) -> None:
        pass


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def submit(self, room: str, text: str) -> None:
        self.sent.append((room, text))


def test_with_a_broker_publish_goes_out_unnumbered_and_comes_back_numbered():
    hub = Hub(["nodes"], history_size=5, clock=lambda: 0.0)
    hub.broker = broker = Recorder()
    inbox = Inbox()
    hub.join(inbox, "nodes")
    assert hub.publish("nodes", "node_status_update", {"n": 1}) is None
    assert inbox.got == []  # nothing is delivered before the broker numbers it
    room, text = broker.sent[0]
    assert room == "nodes" and "offset" not in json.loads(text)
    for offset in (41, 41, 42):  # a duplicate is ignored
        hub.relay("nodes", offset, stream_text(text, offset))
    assert [m["offset"] for m in inbox.got] == [41, 42]
    assert json.loads(hub.log("nodes").snapshot())["snapshot"] is True
    assert [json.loads(t)["offset"] for t in hub.log("nodes").since(41, epoch=hub.epoch)] == [42]


def test_a_jump_in_offsets_restarts_the_local_history():
    hub = Hub(["nodes"], history_size=5, clock=lambda: 0.0)
    text = '{"type":"t","room":"nodes","data":{},"timestamp":"x"}'
    hub.relay("nodes", 1, stream_text(text, 1))
    hub.relay("nodes", 7, stream_text(text, 7))  # 2..6 will never arrive here
    with pytest.raises(HistoryGap):
        hub.log("nodes").since(1, epoch=hub.epoch)
    assert hub.log("nodes").since(7, epoch=hub.epoch) == []


def test_a_new_epoch_tells_subscribers_their_offsets_start_over():
    hub = Hub(["nodes", "tasks"], history_size=5, clock=lambda: 0.0)
    inbox = Inbox()
    hub.join(inbox, "nodes")
    hub.reset_epoch("e2")
    assert inbox.got == [{"type": "error", "code": "history_gap", "room": "nodes",
                          "epoch": "e2", "last_offset": 0, "timestamp": inbox.got[0]["timestamp"],
                          "message": inbox.got[0]["message"]}]
    assert hub.epoch == "e2" and hub.log("nodes").last_offset == 0
