"""The publisher runner with a fake clock: pacing without drift, errors survived, stats."""

from __future__ import annotations

from fogpanel.hub import Hub
from fogpanel.publishers.runner import Publisher, PublisherRunner


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def test_ticks_land_on_the_schedule_despite_slow_ticks():
    """Each tick starts at start + k*interval even when producing takes time (no drift)."""
    clock = FakeClock()
    hub = Hub(["nodes"], clock=clock)
    starts: list[float] = []

    def produce(now: float):
        starts.append(now)
        clock.now += 0.3  # producing takes 0.3 s of the 2 s interval
        return [("node_status_update", {"n": len(starts)})]

    pub = Publisher("nodes", "nodes", 2.0, produce)
    await PublisherRunner(hub, [pub], clock=clock, sleep=clock.sleep).run(pub, ticks=5)
    assert starts == [1000.0, 1002.0, 1004.0, 1006.0, 1008.0]
    assert hub.log("nodes").last_offset == 5 and pub.count == 5


async def test_a_late_tick_skips_to_the_next_slot():
    """A tick that overruns an interval does not cause a burst of catch-up ticks."""
    clock = FakeClock()
    hub = Hub(["nodes"], clock=clock)
    starts: list[float] = []

    def produce(now: float):
        starts.append(now)
        if len(starts) == 2:
            clock.now += 5.0  # one very slow tick
        return []

    pub = Publisher("nodes", "nodes", 2.0, produce)
    await PublisherRunner(hub, [pub], clock=clock, sleep=clock.sleep).run(pub, ticks=4)
    assert starts == [1000.0, 1002.0, 1008.0, 1010.0]


async def test_errors_are_counted_and_the_publisher_keeps_going():
    """A failing source is logged and counted; later ticks still publish."""
    clock = FakeClock()
    hub = Hub(["tasks"], clock=clock)
    calls = 0

    def produce(now: float):
        nonlocal calls
        calls += 1
        if calls % 2:
            raise RuntimeError("source down")
        return [("task_progress_update", {})]

    pub = Publisher("tasks", "tasks", 1.0, produce)
    runner = PublisherRunner(hub, [pub], clock=clock, sleep=clock.sleep)
    await runner.run(pub, ticks=6)
    stats = runner.stats()["tasks"]
    assert (stats["errors"], stats["count"], stats["ticks"]) == (3, 3, 6)
    assert stats["last_error"] == "RuntimeError" and stats["last_publish"].endswith("Z")
