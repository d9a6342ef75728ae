"""The simulator with a stepped clock: determinism, incidents, task lifecycle, topology."""

from __future__ import annotations

import pytest

from fogpanel.sources.simulator import Simulator


def run(seed: int, steps: int = 120, **kw) -> tuple[Simulator, list]:
    sim = Simulator(seed=seed, nodes=12, devices=30, task_rate=2.0, now=0.0, **kw)
    stream = []
    for t in range(1, steps + 1):
        sim.step(float(t))
        stream.append((sim.betanet(), sim.p2p(), sim.devices(), sim.task_rows(),
                       sim.topology(), sim.drain_alerts()))
    return sim, stream


def test_same_seed_same_stream():
    """Two simulators with one seed, stepped at the same times, say the same things."""
    assert run(11, incident_interval=30.0)[1] == run(11, incident_interval=30.0)[1]


def test_other_seed_other_stream():
    """A different seed gives a different cluster."""
    assert run(11)[1][-1] != run(12)[1][-1]


def test_counters_grow_and_rates_are_per_second():
    """Packets and P2P message counters only grow; rates are per second of simulated time."""
    _, stream = run(3, steps=60)
    packets = [s[0]["packets_processed"] for s in stream]
    sent = [s[1]["messages_sent"] for s in stream]
    assert packets == sorted(packets) and sent == sorted(sent) and packets[-1] > 0
    deltas = [b - a for a, b in zip(sent, sent[1:], strict=False)]
    assert stream[-1][1]["messages_sent_per_second"] == pytest.approx(deltas[-1])


def test_scheduled_incidents_raise_labelled_alerts_then_resolve():
    """An incident is injected on schedule with a firing alert, and resolved when it ends."""
    sim = Simulator(seed=5, nodes=10, devices=20, now=0.0, incident_interval=50.0)
    alerts = []
    for t in range(1, 400):
        sim.step(float(t))
        alerts += sim.drain_alerts()
    firing = [a for a in alerts if a["state"] == "firing"]
    resolved = [a for a in alerts if a["state"] == "resolved"]
    assert len(firing) >= 5
    assert all(a["incident"].startswith("incident:") and a["priority"] in ("warning", "critical")
               for a in firing)
    assert {a["alert_id"] for a in resolved} <= {a["alert_id"] for a in firing}
    assert len(resolved) >= 3


@pytest.mark.parametrize("kind", ["cpu_runaway", "latency_degradation", "node_crash",
                                  "task_failure_burst"])
def test_triggered_incident_has_its_effect(kind):
    """Each incident kind visibly changes the cluster while it lasts."""
    sim = Simulator(seed=9, nodes=15, devices=40, task_rate=5.0, now=0.0, incident_interval=0)
    for t in range(1, 61):
        sim.step(float(t))
    before = (sim.betanet(), sim.topology(), sim.tasks.counts["failed"])
    inc = sim.trigger(kind, now=61.0)
    for t in range(62, 90):
        sim.step(float(t))
    if kind == "cpu_runaway":
        assert sim.devices()[sim.fleet.index(inc.target)]["status"] == "overloaded"
    elif kind == "latency_degradation":
        assert sim.betanet()["avg_latency_ms"] > before[0]["avg_latency_ms"] + 10
    elif kind == "node_crash":
        assert inc.target not in {n["id"] for n in sim.topology()["nodes"]}
        assert sim.topology()["change_number"] > before[1]["change_number"]
    else:
        assert sim.tasks.counts["failed"] - before[2] >= 5
    assert sim.drain_alerts()[0]["incident"] == f"incident:{kind}"


def test_unknown_incident_kind_or_target_refused():
    """Triggering an unknown kind or an impossible target raises ValueError."""
    sim = Simulator(seed=1, nodes=5, devices=5, now=0.0)
    with pytest.raises(ValueError):
        sim.trigger("meteor", now=1.0)
    with pytest.raises(ValueError):
        sim.trigger("cpu_runaway", "no-such-device", now=1.0)


def test_task_lifecycle_and_eta_are_consistent():
    """Counts add up; completed tasks are at 100 %; running ETAs follow the achieved rate."""
    sim, _ = run(21, steps=300)
    summary = sim.tasks.summary()
    assert summary["total"] == sum(summary[k] for k in ("pending", "running", "completed",
                                                        "failed"))
    assert summary["completed"] > 0
    for task in sim.tasks.finished:
        if task.status == "completed":
            assert task.progress == 100.0 and task.end_time >= task.start_time
    for task in sim.tasks.running.values():
        eta = task.eta(sim.now)
        assert eta is not None and eta >= sim.now
        assert eta == pytest.approx(sim.now + (task.work - task.done) / task.rate)
    rows = sim.task_rows()
    running = [r for r in rows if r["status"] == "running"]
    assert all(r["start_time"].endswith("Z") and r["estimated_completion"] for r in running)


def test_nodes_join_and_leave_so_topology_changes():
    """Over simulated hours nodes leave and join: the link map and change number move."""
    sim = Simulator(seed=2, nodes=10, devices=5, now=0.0, incident_interval=0)
    first = sim.topology()
    links_seen = {tuple(sorted((x["source"], x["target"]) for x in first["links"]))}
    for t in range(1, 3 * 3600, 10):
        sim.step(float(t))
        links_seen.add(tuple(sorted((x["source"], x["target"]) for x in sim.topology()["links"])))
    assert sim.topology()["change_number"] > first["change_number"]
    assert len(links_seen) > 3
