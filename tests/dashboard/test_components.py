"""Each component's view follows the state, driven by sample room messages, without a server."""

from __future__ import annotations

import random

import pytest
from bokeh.document import Document

from fogpanel.dashboard.alerts import Alerts, render_alerts
from fogpanel.dashboard.feed import SessionFeed
from fogpanel.dashboard.header import header_html, status_html
from fogpanel.dashboard.live_metrics import LiveMetrics, health_badge
from fogpanel.dashboard.node_status import NodeStatus
from fogpanel.dashboard.resources import Resources
from fogpanel.dashboard.state import DashboardState
from fogpanel.dashboard.task_progress import TaskProgress
from fogpanel.dashboard.timeline import Timelines
from fogpanel.dashboard.topology import Topology
from fogpanel.hub import Hub


def msg(room: str, kind: str, data: dict) -> dict:
    return {"room": room, "type": kind, "data": data, "timestamp": "t", "offset": 1}


@pytest.fixture
def state() -> DashboardState:
    return DashboardState()


def test_live_metrics_health_colours_and_services(state):
    """Composite health sets the badge colour; every service gets a row; the strip grows."""
    view = LiveMetrics(state=state)
    state.apply(msg("metrics", "metrics_update", {
        "composite_health": {"status": "degraded", "score": 75.0},
        "services": {"scheduler": {"status": "degraded", "last_check": "x",
                                   "response_time_ms": 3.0, "consecutive_failures": 2,
                                   "uptime_1h": 90.0},
                     "p2p-router": {"status": "healthy", "last_check": "x",
                                    "response_time_ms": 1.0, "consecutive_failures": 0,
                                    "uptime_1h": 100.0}}}), now=10.0)
    title, header, services, controls = view.header.sections
    assert 'data-status="degraded"' in header and "#e6a100" in header
    assert services.index("p2p-router") < services.index("scheduler")
    assert 'data-status="degraded"' in services and "90.0" in services
    assert 'data-points="1"' in header
    assert "#d62728" in health_badge({"status": "unhealthy"})


def test_live_metrics_range_and_metric_choices(state):
    """A change of the range select reloads the chart for that range; unknown choices (a page
    can send anything) are ignored."""
    view = LiveMetrics(state=state)
    assert view.span == "5 min (live)" and view.metric == "betanet.avg_latency_ms"
    view.header.action = ["range", "1 hour", 1]  # what choosing "1 hour" in the page sends
    assert view.span == "1 hour" and view._chart_fig.title.text.endswith("· 1 hour")
    assert '<option value="1 hour" selected>' in view.header.sections[-1]
    view.header.action = ["range", "forever", 2]
    view.header.action = ["metric", "no.such.metric", 3]
    assert view.span == "1 hour" and view.metric == "betanet.avg_latency_ms"


def test_node_status_figures_and_sparklines(state):
    """Betanet and P2P numbers follow the nodes room; sparklines get one point per message."""
    view = NodeStatus(state=state)
    for i, latency in enumerate((20.0, 150.0)):
        state.apply(msg("nodes", "node_status_update", {
            "betanet": {"active_nodes": 12, "connections": 30, "avg_latency_ms": latency,
                        "packets_per_second": 900.0},
            "p2p": {"connected_peers": 14, "messages_sent_per_second": 55.5,
                    "messages_received_per_second": 54.0}}), now=float(i))
    tiles = view.card.sections[1]
    assert 'data-key="active" data-value="12"' in tiles
    assert 'data-key="connections" data-value="30"' in tiles
    assert 'data-key="latency" data-value="150.0"' in tiles
    assert "#e6a100" in tiles  # 150 ms is over the warning threshold
    assert 'data-key="sent" data-value="55.5"' in tiles
    assert tiles.count('data-points="2"') == 2
    assert "latency ms · 150" in tiles


def test_task_progress_tiles_filter_and_order(state):
    """Tiles show the summary; the table keeps newest first and filters by status."""
    view = TaskProgress(state=state)
    tasks = [{"id": "task-3", "name": "c", "status": "running", "progress": 40.0},
             {"id": "task-2", "name": "b", "status": "failed", "progress": 10.0},
             {"id": "task-1", "name": "a", "status": "completed", "progress": 100.0}]
    state.apply(msg("tasks", "task_progress_update", {
        "tasks": tasks, "summary": {"total": 3, "pending": 0, "running": 1, "completed": 1,
                                    "failed": 1}}), now=1.0)
    title, tiles, buttons, table = view.card.sections
    assert 'data-key="failed" data-value="1"' in tiles
    assert 'data-key="total" data-value="3"' in tiles
    assert table.index("task-3") < table.index("task-2") < table.index("task-1")
    assert 'width:48px' in table  # task-3's progress bar: 40 % of 120 px
    assert 'data-arg="all" aria-pressed="true"' in buttons
    view.card.action = ["filter", "failed", 1]  # what a click on the "failed" button sends
    title, tiles, buttons, table = view.card.sections
    assert "task-2" in table and "task-3" not in table
    assert 'data-arg="failed" aria-pressed="true"' in buttons
    view.card.action = ["filter", "<script>", 2]  # a page can send anything: ignored
    view.card.action = ["no-such-action", "x", 3]
    assert view.status == "failed"


def test_alerts_feed_newest_first_with_details_and_ack(state):
    """Alerts are newest first with severity colours, anomaly details, and acknowledge marks."""
    view = Alerts(state=state)
    state.apply(msg("alerts", "alert", {"alert_id": "a1", "title": "old", "severity": "warning",
                                        "state": "firing"}), now=1.0)
    state.apply(msg("alerts", "alert", {
        "alert_id": "a2", "title": "spike", "severity": "critical", "state": "firing",
        "kind": "anomaly", "value": 99.0, "expected": {"low": 10.0, "high": 20.0},
        "score": 0.93}), now=2.0)
    badge, message, html, _toast = view.card.sections
    assert html.index("spike") < html.index("old")
    assert "expected 10 – 20" in html and "score 0.93" in html and "#d62728" in html
    assert 'data-count="2"' in badge and state.unseen_critical == 0
    assert html.count('data-action="ack"') == 2 and message == ""
    view.card.action = ["ack", "a2", 1]  # what a click on spike's Acknowledge button sends
    badge, message, html, _toast = view.card.sections
    assert state.acknowledged == ["a2"] and "acknowledged" in html
    assert html.count('data-action="ack"') == 1 and "Acknowledged: spike" in message
    view.card.action = ["ack", "no-such-alert", 2]  # unknown ids change nothing
    assert state.acknowledged == ["a2"]
    assert render_alerts([], []).startswith('<div class="fp-alerts-empty"')


def test_a_critical_alert_raises_a_notification_until_dismissed(state):
    """A firing critical alert shows a notification (a new one for each arrival, even with the
    same text); warnings and resolutions do not; a click on its close button dismisses it."""
    view = Alerts(state=state)
    state.apply(msg("alerts", "alert", {"alert_id": "w", "title": "slow", "severity": "warning",
                                        "state": "firing"}), now=1.0)
    state.apply(msg("alerts", "alert", {"alert_id": "c", "title": "down", "severity": "critical",
                                        "state": "resolved"}), now=2.0)
    assert view.card.sections[3] == ""
    state.apply(msg("alerts", "alert", {"alert_id": "c", "title": "down", "severity": "critical",
                                        "state": "firing"}), now=3.0)
    first = view.card.sections[3]
    assert 'class="fp-toast"' in first and "Critical:</b> down" in first
    assert state.unseen_critical == 0
    view.card.action = ["dismiss", "", 1]
    assert view.card.sections[3] == ""
    state.apply(msg("alerts", "alert", {"alert_id": "c", "title": "down", "severity": "critical",
                                        "state": "firing"}), now=4.0)
    again = view.card.sections[3]
    assert "Critical:</b> down" in again and again != first


def test_a_burst_of_alerts_renders_once(state):
    """A batch of alerts updates the feed in one change, newest first."""
    view = Alerts(state=state)
    renders = []
    state.param.watch(lambda e: renders.append(len(e.new)), "alerts")
    state.apply_all([msg("alerts", "alert", {"alert_id": str(i), "title": f"t{i}",
                                             "severity": "critical", "state": "firing"})
                     for i in range(30)], now=1.0)
    assert renders == [30] and state.alerts[0]["alert_id"] == "29"
    feed = view.card.sections[2]
    assert feed.index("t29") < feed.index("t0<")
    assert "t29 (+29 more)" in view.card.sections[3]  # one notification for the burst


def test_alerts_keep_the_last_hundred(state):
    """Only the last 100 alerts are kept."""
    for i in range(130):
        state.apply(msg("alerts", "alert", {"alert_id": str(i), "title": str(i)}), now=i)
    assert len(state.alerts) == 100 and state.alerts[0]["alert_id"] == "129"


def test_resources_gauges_and_table(state):
    """Device figures, gauges and the device table with the real flag."""
    view = Resources(state=state)
    state.apply(msg("resources", "resource_update", {
        "device_count": 3, "online_devices": 2, "avg_cpu": 41.26, "avg_memory": 50.0,
        "total_storage_gb": 2500.0,
        "devices_details": [{"id": "host-x", "cpu": 80.0, "memory": 40.0, "storage": 10.0,
                             "status": "busy", "class": "host", "real": True,
                             "source": "host"}],
        "sources": {"simulator": True, "host": True, "agents": 0}}), now=1.0)
    fleet, table, history = view.card.sections
    assert 'data-key="devices" data-value="3"' in fleet and 'data-value="2"' in fleet
    assert 'data-label="Avg CPU" data-value="41.3"' in fleet and "2.5" in fleet
    assert 'data-device="host-x"' in table and "<b>real</b>" in table
    assert "Click a device" in history
    assert state.sources == {"simulator": True, "host": True, "agents": 0}


def test_resources_table_sorts_by_the_clicked_header(state):
    view = Resources(state=state)
    devices = [{"id": "b-dev", "cpu": 10.0}, {"id": "a-dev", "cpu": 90.0},
               {"id": "c-dev", "cpu": 50.0}]
    state.apply(msg("resources", "resource_update", {"devices_details": devices}), now=1.0)

    def order() -> list[str]:
        return [d["id"] for d in sorted(devices, key=lambda d: view.card.sections[1].index(
            f'data-device="{d["id"]}"'))]

    assert order() == ["a-dev", "c-dev", "b-dev"]  # busiest first by default
    view.card.action = ["sort", "id", 1]  # what a click on the "device" header sends
    assert order() == ["a-dev", "b-dev", "c-dev"]


def test_topology_graph_and_change_counter(state):
    """Nodes and links are drawn; each change message counts."""
    view = Topology(state=state)
    state.apply(msg("topology", "topology_change", {
        "nodes": [{"id": "a", "role": "gateway", "status": "healthy"},
                  {"id": "b", "role": "mixnode", "status": "degraded"}],
        "links": [{"source": "a", "target": "b", "latency_ms": 12.0}],
        "change_number": 7}), now=1.0)
    assert view._nodes.data["id"] == ["a", "b"] and view._nodes.data["color"][1] == "#d62728"
    assert len(view._links.data["x0"]) == 1
    summary = view.info.sections[1]
    assert 'data-changes="1"' in summary and "density 1.00" in summary


def test_feed_applies_hub_messages_and_unsubscribes():
    """Without a document the feed applies at once; stop() leaves every room."""
    hub = Hub(["tasks", "alerts"], clock=lambda: 0.0)
    hub.publish("tasks", "task_progress_update", {"tasks": [], "summary": {"total": 5}})
    state = DashboardState()
    feed = SessionFeed(hub, state, doc=None)
    feed.start(["tasks", "alerts", "unknown"])
    assert state.task_summary == {"total": 5}  # the snapshot arrived on subscribe
    hub.publish("alerts", "alert", {"alert_id": "x"})
    assert state.alerts[0]["alert_id"] == "x"
    feed.stop()
    assert hub.registry.counts() == {"tasks": 0, "alerts": 0}


class TimerDoc(Document):
    """A real Bokeh Document that records the timeouts a feed asks for instead of running them
    on a server loop (there is none in a unit test)."""

    def __init__(self) -> None:
        super().__init__()
        self.timers: list[tuple[int, object]] = []

    def add_timeout_callback(self, callback, delay_ms):
        self.timers.append((delay_ms, callback))

    def add_periodic_callback(self, callback, period_ms):
        self.periodic = (period_ms, callback)
        return callback

    def remove_periodic_callback(self, callback):
        assert callback is self.periodic[1]
        self.periodic = None


class Top(random.Random):
    def randint(self, a: int, b: int) -> int:
        return b


def test_feed_spreads_ticks_but_hurries_alerts():
    """A room tick is applied within the 2 s spread; an alert within 200 ms, even when a
    slower flush is already waiting; one pending timer of each kind at most."""
    hub = Hub(["tasks", "alerts"], clock=lambda: 0.0)
    doc = TimerDoc()
    state = DashboardState()
    feed = SessionFeed(hub, state, doc, rng=Top())
    feed.start(["tasks", "alerts"])
    hub.publish("tasks", "task_progress_update", {"tasks": [], "summary": {"total": 1}})
    hub.publish("tasks", "task_progress_update", {"tasks": [], "summary": {"total": 2}})
    assert [delay for delay, _ in doc.timers] == [2000]
    hub.publish("alerts", "alert", {"alert_id": "a", "severity": "critical", "state": "firing"})
    assert [delay for delay, _ in doc.timers] == [2000, 200]
    doc.timers[1][1]()  # the urgent flush applies everything buffered so far
    assert state.alerts[0]["alert_id"] == "a" and state.task_summary == {"total": 2}
    feed.stop()


def test_alert_flushes_spread_wider_with_more_sessions_open():
    """An alert reaches every session at once: with 100 sessions open their flushes are spread
    over 1 s (200 ms for one), so the loop does not run 100 flushes back to back."""
    hub = Hub(["alerts"], clock=lambda: 0.0)
    others = [SessionFeed(hub, DashboardState(), doc=None) for _ in range(99)]
    doc = TimerDoc()
    feed = SessionFeed(hub, DashboardState(), doc, rng=Top())
    try:
        for other in others:
            other.start(["alerts"])
        feed.start(["alerts"])
        hub.publish("alerts", "alert", {"alert_id": "a", "severity": "critical"})
        assert [delay for delay, _ in doc.timers] == [1000]
    finally:
        for f in [*others, feed]:
            f.stop()
    assert SessionFeed.live == 0


def test_feed_joins_only_once_the_process_has_joined_the_cluster():
    """Before a scaled-out process has loaded the room history from Redis the session waits
    (checking every 250 ms), so that history does not arrive as live updates; a session closed
    while waiting never joins."""
    hub = Hub(["tasks"], clock=lambda: 0.0)
    hub.publish("tasks", "task_progress_update", {"tasks": [], "summary": {"total": 7}})
    joined = [False]
    doc, state = TimerDoc(), DashboardState()
    feed = SessionFeed(hub, state, doc, rng=Top())
    feed.start_when(lambda: joined[0], ["tasks"])
    period, check = doc.periodic
    check()
    assert period == 250 and hub.registry.counts() == {"tasks": 0} and SessionFeed.live == 0
    joined[0] = True
    check()
    assert doc.periodic is None and hub.registry.counts() == {"tasks": 1}
    doc.timers[0][1]()  # the snapshot, delivered on joining
    assert state.task_summary == {"total": 7}
    feed.stop()
    early = SessionFeed(hub, DashboardState(), TimerDoc())
    early_doc = early.doc
    early.start_when(lambda: False, ["tasks"])
    early.stop()
    early_doc.periodic[1]()
    assert early_doc.periodic is None and hub.registry.counts() == {"tasks": 0}
    assert SessionFeed.live == 0


def test_header_status_shows_freshness_sources_and_redis(state):
    """Live after data, stale 30 s later; live sources; the Redis link only under scale-out."""
    assert 'data-fresh="waiting"' in status_html(state, None, now=0.0)
    state.apply(msg("resources", "resource_update",
                    {"sources": {"simulator": True, "host": False, "agents": 2}}), now=100.0)
    html = status_html(state, None, now=101.0)
    assert 'data-fresh="live"' in html and "fp-redis" not in html
    assert '<li class="fp-source" data-on="false">' in html and "agents (2)" in html
    assert 'data-fresh="stale"' in status_html(state, None, now=131.0)
    down = status_html(state, {"connected": False, "outage_since": 90.0}, now=101.0)
    assert 'data-redis="down"' in down


def test_header_switches_to_the_other_theme():
    """The switch reloads the page in the other theme (Panel reads ``?theme=``)."""
    assert 'id="theme-switch" href="?theme=dark"' in header_html("fogpanel", "default")
    assert 'id="theme-switch" href="?theme=default"' in header_html("fogpanel", "dark")
    assert "a &lt;b&gt;" in header_html("a <b>", "default")


def test_sessions_of_a_process_share_their_histories():
    """Two sessions applying the same messages hold one health history (one list, rendered
    once); a session opened later starts with it instead of an empty strip."""
    timelines = Timelines()
    first, second = DashboardState(timelines=timelines), DashboardState(timelines=timelines)
    for i in range(3):
        message = msg("metrics", "metrics_update",
                      {"composite_health": {"status": "healthy", "score": 90 + i}})
        first.apply(message, now=float(i))
        second.apply(message, now=i + 0.5)  # the same message, a little later
    assert first.health_history is second.health_history
    assert [score for _, score in first.health_history] == [90, 91, 92]
    late = DashboardState(timelines=timelines)
    assert late.health_history == first.health_history
    alone = DashboardState()  # a notebook's state keeps its own
    alone.apply(message, now=9.0)
    assert alone.health_history == [(9.0, 92)]
