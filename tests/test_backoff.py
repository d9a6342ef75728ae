"""The reconnect schedule, the room cursor and the offline queue (pure, no waiting)."""

from __future__ import annotations

import random

import pytest

from fogpanel.backoff import Backoff, BackoffPolicy
from fogpanel.client.cursor import RoomCursor
from fogpanel.client.outbox import Outbox


class Extremes(random.Random):
    """A random source that always returns the top of the range (the ceilings)."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_the_ceilings_grow_by_the_factor_up_to_the_maximum():
    backoff = Backoff(BackoffPolicy(initial=0.5, maximum=5.0, factor=3.0), rng=Extremes())
    assert [backoff.next_delay() for _ in range(5)] == [0.5, 1.5, 4.5, 5.0, 5.0]


def test_full_jitter_spreads_delays_between_zero_and_the_ceiling():
    """Jitter is spread over the whole range (not clustered at the ceiling)."""
    policy = BackoffPolicy(initial=1.0, maximum=64.0, factor=2.0)
    rng = random.Random(3)
    delays = []
    for _ in range(2000):
        b = Backoff(policy, rng)
        delays.append([b.next_delay() for _ in range(4)][-1])  # the 4th: ceiling 8 s
    assert min(delays) >= 0 and max(delays) <= 8.0
    assert min(delays) < 0.5 and max(delays) > 7.5  # reaches both ends
    assert 3.5 < sum(delays) / len(delays) < 4.5  # uniform: mean = ceiling / 2


def test_attempts_run_out_and_reset_starts_over():
    b = Backoff(BackoffPolicy(initial=1.0, max_attempts=3), rng=Extremes())
    assert [b.next_delay() for _ in range(4)] == [1.0, 2.0, 4.0, None]
    b.reset()
    assert b.next_delay() == 1.0


@pytest.mark.parametrize("bad", [{"initial": 0}, {"initial": 5, "maximum": 1},
                                 {"factor": 0.5}, {"max_attempts": 0}])
def test_nonsense_policies_are_refused(bad):
    with pytest.raises(ValueError):
        BackoffPolicy(**bad)


def test_cursor_drops_duplicates_and_asks_since_the_last_offset():
    cursor = RoomCursor(["nodes", "alerts"])
    cursor.established("e1")
    assert [cursor.accept("nodes", n) for n in (1, 2, 2, 1, 3)] == [True, True, False, False,
                                                                    True]
    assert cursor.subscribe_message() == {"type": "subscribe", "rooms": ["nodes", "alerts"],
                                          "since": {"nodes": 3}, "epoch": "e1"}
    cursor.established("e2")  # a restarted server: the old epoch is still what we ask with
    assert cursor.subscribe_message()["epoch"] == "e1"
    cursor.gap("nodes", "e2")
    assert cursor.accept("nodes", 1) and cursor.epoch == "e2"
    cursor.remove(["nodes"])
    assert cursor.subscribe_message() == {"type": "subscribe", "rooms": ["alerts"]}


def test_outbox_is_bounded_and_drops_the_oldest():
    box = Outbox(3)
    for i in range(5):
        box.put({"type": "publish", "n": i})
    assert not box.put({"type": "ping"})
    assert [m["n"] for m in box.drain()] == [2, 3, 4] and box.dropped == 2 and len(box) == 0
