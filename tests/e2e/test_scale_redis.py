"""Scale-out over a real redis-server: several `fogpanel serve` processes, one room history.

Every client, whichever process it is connected to, receives every room message once and in
order; killing the leader hands the publishers to another process without a gap or a
duplicate; ``since`` catch-up works against another process; Redis restarts are survived.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import jwt
import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from tornado.websocket import websocket_connect

from fogpanel.client import BackoffPolicy, ClientState, FogClient
from tests.conftest import SECRET, wait_until

SERVE = [sys.executable, "-m", "fogpanel.cli", "serve", "--port", "0"]
READY = r"dashboard at http://[\d.]+:(\d+)/app"
FAST = BackoffPolicy(initial=0.05, maximum=0.3)


def _admin() -> str:
    return jwt.encode({"sub": "ops", "exp": int(time.time()) + 600, "admin": True}, SECRET)


async def _stats(port: int) -> dict:
    resp = await AsyncHTTPClient().fetch(f"http://127.0.0.1:{port}/api/ws/stats",
                                         headers={"Authorization": f"Bearer {_admin()}"})
    return json.loads(resp.body)


async def _leaders(ports: list[int]) -> list[int]:
    leaders = []
    for port in ports:
        try:
            if (await _stats(port))["process"]["leader"]:
                leaders.append(port)
        except OSError:
            continue
    return leaders


async def _poll(coro_fn, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = await coro_fn()
        if value:
            return value
        await asyncio.sleep(0.1)  # polling a condition with a deadline
    raise AssertionError(f"timed out waiting for {what}")


def _rss(pid: int) -> int:
    """Resident memory of a server process, in bytes."""
    with open(f"/proc/{pid}/status") as status:
        line = next(row for row in status if row.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


def _client(port: int, sub: str) -> FogClient:
    token = jwt.encode({"sub": sub, "exp": int(time.time()) + 600}, SECRET)
    return FogClient(f"ws://127.0.0.1:{port}/api/ws/connect", token=token, rooms=["nodes"],
                     backoff=FAST)


def _offsets(got: list[dict]) -> list[int]:
    return [m["offset"] for m in got if m["type"] == "node_status_update"]


@pytest.mark.parametrize("processes", [2, 3])
async def test_every_client_gets_every_message_once_in_order_and_the_leader_fails_over(
        spawn, redis_server, monkeypatch, processes):
    monkeypatch.setenv("FOGPANEL_REDIS_URL", redis_server.url)
    monkeypatch.setenv("FOGPANEL_LEADER_TTL", "1.5")
    monkeypatch.setenv("FOGPANEL_SOURCES", "simulator")
    servers = [spawn(SERVE, READY) for _ in range(processes)]
    ports = [port for _, port in servers]
    leaders = await _poll(lambda: _leaders(ports), 20, "a leader")
    assert len(leaders) == 1
    leader = leaders[0]

    async def cluster_of(size: int) -> dict | None:
        cluster = (await _stats(ports[-1] if ports[-1] != leader else ports[0]))["cluster"]
        return cluster if len(cluster["processes"]) == size and cluster["leaders"] == 1 \
            else None

    cluster = await _poll(lambda: cluster_of(processes), 10, "every process, one leader")
    assert sum(p["leader"] for p in cluster["processes"]) == 1
    clients: list[FogClient] = []
    received: dict[int, list[dict]] = {}
    try:
        for i, port in enumerate(ports * 2):  # two clients per process
            client = _client(port, f"user-{i}")
            received[i] = []
            client.on("node_status_update", received[i].append)
            clients.append(client)
            await client.connect(timeout=10)
        await wait_until(lambda: all(len(r) >= 8 for r in received.values()), timeout=20)

        # Kill the leader without letting it release the lease.
        leader_proc = next(proc for proc, port in servers if port == leader)
        os.kill(leader_proc.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        survivors = [p for p in ports if p != leader]
        new = await _poll(lambda: _leaders(survivors), 15, "a new leader")
        takeover = time.monotonic() - killed_at
        assert len(new) == 1
        await _poll(lambda: cluster_of(processes - 1), 10, "the dead one gone, one leader")
        marks = {i: len(r) for i, r in received.items()}
        staying = [i for i, c in enumerate(clients) if str(leader) not in c.url]
        await wait_until(lambda: all(len(received[i]) >= marks[i] + 8 for i in staying),
                         timeout=20)
    finally:
        await asyncio.gather(*(c.disconnect() for c in clients))
    for i in staying:
        offsets = _offsets(received[i])
        assert offsets == list(range(offsets[0], offsets[0] + len(offsets))), (
            f"client {i}: gaps or duplicates across the failover: {offsets}")
    # Everyone saw the same messages under the same offsets (compare the common range).
    texts = [{m["offset"]: json.dumps(m["data"], sort_keys=True) for m in received[i]}
             for i in staying]
    common = set.intersection(*(set(t) for t in texts))
    assert len(common) >= 8 and all(t[o] == texts[0][o] for t in texts for o in common)
    print(f"\n{processes} processes: leader takeover {takeover:.1f} s after kill -9")
    assert takeover < 6.0


async def test_since_catch_up_works_against_another_process(spawn, redis_server, monkeypatch):
    """A client that saw offset k on one process asks another with since=k and the epoch:
    it gets exactly the messages after k."""
    monkeypatch.setenv("FOGPANEL_REDIS_URL", redis_server.url)
    monkeypatch.setenv("FOGPANEL_SOURCES", "simulator")
    (_, first), (_, second) = spawn(SERVE, READY), spawn(SERVE, READY)
    one = _client(first, "mover")
    got: list[dict] = []
    one.on("node_status_update", got.append)
    await one.connect(timeout=10)
    await wait_until(lambda: len(got) >= 3, timeout=20)
    await one.disconnect()
    seen = _offsets(got)[-1]
    two = _client(second, "mover")
    two.cursor = one.cursor  # the place the first connection reached
    later: list[dict] = []
    gaps: list[dict] = []
    two.on("node_status_update", later.append)
    two.on("history_gap", gaps.append)
    try:
        await two.connect(timeout=10)
        await wait_until(lambda: len(later) >= 5, timeout=20)
    finally:
        await two.disconnect()
    offsets = _offsets(later)
    assert not gaps and offsets[0] == seen + 1
    assert offsets == list(range(seen + 1, seen + 1 + len(offsets)))
    assert not any(m.get("snapshot") for m in later)


async def test_a_redis_restart_is_survived(spawn, redis_server, monkeypatch):
    """Redis goes away: the process keeps its clients, reports the outage, retries without
    leaking, and when Redis is back (empty: a new epoch) it recovers, a leader publishes
    again, and clients hear a history gap followed by new messages."""
    monkeypatch.setenv("FOGPANEL_REDIS_URL", redis_server.url)
    monkeypatch.setenv("FOGPANEL_LEADER_TTL", "1.5")
    monkeypatch.setenv("FOGPANEL_SOURCES", "simulator")
    _, port = spawn(SERVE, READY)
    await _poll(lambda: _leaders([port]), 20, "a leader")
    client = _client(port, "watcher")
    got: list[dict] = []
    gaps: list[dict] = []
    client.on("node_status_update", got.append)
    client.on("history_gap", gaps.append)
    frames: list[dict] = []
    client.on("*", frames.append)
    try:
        await client.connect(timeout=10)
        await wait_until(lambda: len(got) >= 3, timeout=20)
        epoch = (await _stats(port))["epoch"]
        redis_server.stop()

        async def outage() -> dict | None:
            stats = await _stats(port)
            away = not stats["redis"]["connected"] and not stats["process"]["leader"]
            return stats if away else None

        # The outage is in stats and the lease given up (no one can publish through Redis).
        early = await _poll(outage, 15, "the outage in stats, no leader")
        assert client.state is ClientState.CONNECTED  # local clients keep their connection
        rss_early = _rss(early["process"]["pid"])

        async def retried_a_while() -> dict | None:
            stats = await _stats(port)
            retries = stats["redis"]["failed_attempts"] - early["redis"]["failed_attempts"]
            return stats if retries >= 6 else None

        # Retrying for a while, with backoff, leaks no socket, task or memory.
        late = await _poll(retried_a_while, 40, "six more failed attempts")
        assert late["process"]["open_fds"] <= early["process"]["open_fds"] + 2
        assert late["process"]["tasks"] <= early["process"]["tasks"] + 2
        assert late["redis"]["queued"] <= 10_000
        assert _rss(late["process"]["pid"]) - rss_early < 8 << 20
        assert client.state is ClientState.CONNECTED
        redis_server.start()

        async def recovered() -> bool:
            stats = await _stats(port)
            return stats["redis"]["connected"] and stats["epoch"] != epoch

        await _poll(recovered, 20, "recovery with a new epoch")
        mark = len(got)
        await wait_until(lambda: len(got) >= mark + 3, timeout=20)
        new_epoch = (await _stats(port))["epoch"]
        assert gaps and gaps[-1]["epoch"] == new_epoch and client.connections == 1
        after_gap = [m for m in frames[frames.index(gaps[-1]):]
                     if m["type"] == "node_status_update"]
        assert after_gap[0]["offset"] == 1  # offsets start over in the new epoch
    finally:
        await client.disconnect()


async def test_an_agent_report_to_a_follower_reaches_the_leader(spawn, redis_server,
                                                                monkeypatch):
    monkeypatch.setenv("FOGPANEL_REDIS_URL", redis_server.url)
    monkeypatch.setenv("FOGPANEL_SOURCES", "simulator,agents")
    ports = [port for _, port in (spawn(SERVE, READY), spawn(SERVE, READY))]
    leader = (await _poll(lambda: _leaders(ports), 20, "a leader"))[0]
    follower = next(p for p in ports if p != leader)
    agent = jwt.encode({"sub": "agent-7", "exp": int(time.time()) + 600, "role": "agent"},
                       SECRET)
    report = {"node_id": "edge-relayed", "timestamp": time.time(),
              "metrics": {"cpu_usage": 42.0, "memory_usage": 10.0}}
    resp = await AsyncHTTPClient().fetch(
        f"http://127.0.0.1:{follower}/api/ingest", method="POST", body=json.dumps(report),
        headers={"Authorization": f"Bearer {agent}"})
    assert json.loads(resp.body)["accepted"] == 1

    async def seen_by_leader() -> bool:
        devices = (await _stats(leader))["agent_devices"]
        return any(d.get("id") == "edge-relayed" for d in devices)

    await _poll(seen_by_leader, 10, "the leader to record the relayed report")
    follower_devices = (await _stats(follower))["agent_devices"]
    assert not any(d.get("id") == "edge-relayed" for d in follower_devices)

    async def in_shared_history() -> list:
        resp = await AsyncHTTPClient().fetch(
            f"http://127.0.0.1:{follower}/api/ws/metrics/history"
            "?metric=device.edge-relayed.cpu_usage&hours=1&step=raw",
            headers={"Authorization": f"Bearer {_admin()}"}, raise_error=False)
        return json.loads(resp.body).get("points", []) if resp.code == 200 else []

    # The leader wrote the sample; the follower reads it from the SQLite file they share.
    points = await _poll(in_shared_history, 10, "the sample in the shared history")
    assert [p["value"] for p in points] == [42.0]


async def test_the_connection_rate_limit_counts_every_process(spawn, redis_server,
                                                              monkeypatch):
    """Three connections a minute per user: two on one process and one on the other (its token
    sent in an auth message) use the allowance, so a fourth anywhere gets 429 with Retry-After
    at the handshake, or 4429 after an auth message."""
    monkeypatch.setenv("FOGPANEL_REDIS_URL", redis_server.url)
    monkeypatch.setenv("FOGPANEL_SOURCES", "simulator")
    monkeypatch.setenv("FOGPANEL_CONNECTIONS_PER_MINUTE", "3")
    ports = [port for _, port in (spawn(SERVE, READY), spawn(SERVE, READY))]
    async def both_on_redis() -> bool:
        states = [(await _stats(p))["redis"] for p in ports]
        return all(state is not None and state["connected"] for state in states)

    await _poll(both_on_redis, 20, "both processes on Redis")
    token = jwt.encode({"sub": "busy", "exp": int(time.time()) + 600}, SECRET)
    opened = []

    async def by_message(port: int) -> tuple:
        conn = await websocket_connect(f"ws://127.0.0.1:{port}/api/ws/connect")
        opened.append(conn)
        conn.write_message(json.dumps({"type": "auth", "token": token}))
        conn.write_message(json.dumps({"type": "ping"}))  # held until admitted
        return conn, json.loads(await conn.read_message())

    try:
        for port in (ports[0], ports[0]):
            opened.append(await websocket_connect(
                f"ws://127.0.0.1:{port}/api/ws/connect?token={token}"))
        third, reply = await by_message(ports[1])
        assert reply["type"] == "connection_established"
        assert json.loads(await third.read_message())["type"] == "pong"
        with pytest.raises(HTTPClientError) as refused:
            await websocket_connect(f"ws://127.0.0.1:{ports[1]}/api/ws/connect?token={token}")
        assert refused.value.code == 429
        assert int(refused.value.response.headers["Retry-After"]) >= 1
        late, reply = await by_message(ports[0])
        assert reply["code"] == "rate_limited" and reply["retry_after"] > 0
        assert await late.read_message() is None and late.close_code == 4429
    finally:
        for conn in opened:
            conn.close()


PANEL_PROCS = [sys.executable, "-m", "panel", "serve", "app.py", "--plugins",
               "fogpanel.server.plugin", "--num-procs", "2", "--port", "0",
               "--address", "127.0.0.1"]


async def test_panel_serve_num_procs_forks_processes_that_share_one_leader(
        spawn, redis_server, monkeypatch):
    """`panel serve --num-procs 2`: two forked processes, each with services of its own built
    after the fork, one leader; clients on the shared port get every message once and in order,
    also when the leader is killed and Tornado forks a replacement."""
    monkeypatch.setenv("FOGPANEL_REDIS_URL", redis_server.url)
    monkeypatch.setenv("FOGPANEL_LEADER_TTL", "1.5")
    monkeypatch.setenv("FOGPANEL_SOURCES", "simulator")
    parent, port = spawn(PANEL_PROCS, r"Bokeh app running at: http://[\w.]+:(\d+)/app")

    async def cluster(excluding: set[int]) -> dict | None:
        found = (await _stats(port))["cluster"]
        pids = {p["pid"] for p in found["processes"]}
        fine = len(pids) == 2 and found["leaders"] == 1 and not pids & excluding
        return found if fine else None

    first = await _poll(lambda: cluster({parent.pid}), 20, "two processes, one leader")
    page = await AsyncHTTPClient().fetch(f"http://127.0.0.1:{port}/app")
    assert page.code == 200 and b"bokeh" in page.body.lower()
    clients = [_client(port, f"user-{i}") for i in range(6)]
    received: dict[int, list[dict]] = {i: [] for i in range(len(clients))}
    try:
        for i, client in enumerate(clients):
            client.on("node_status_update", received[i].append)
            await client.connect(timeout=10)
        await wait_until(lambda: all(len(r) >= 5 for r in received.values()), timeout=20)
        leader = next(p["pid"] for p in first["processes"] if p["leader"])
        os.kill(leader, signal.SIGKILL)
        await _poll(lambda: cluster({parent.pid, leader}), 20,
                    "a new leader and a forked replacement")
        marks = {i: len(r) for i, r in received.items()}
        await wait_until(lambda: all(len(received[i]) >= marks[i] + 5 for i in received),
                         timeout=20)
    finally:
        await asyncio.gather(*(c.disconnect() for c in clients))
    for i, got in received.items():
        offsets = _offsets(got)
        assert offsets == list(range(offsets[0], offsets[0] + len(offsets))), (
            f"client {i}: gaps or duplicates across the failover: {offsets}")
    texts = [{m["offset"]: json.dumps(m["data"], sort_keys=True) for m in got}
             for got in received.values()]
    common = set.intersection(*(set(t) for t in texts))
    assert len(common) >= 5 and all(t[o] == texts[0][o] for t in texts for o in common)


def test_panel_serve_num_procs_without_redis_is_refused(tmp_path):
    """Several processes without Redis would each run their own hub: refused before forking."""
    from tests.e2e.conftest import ROOT, child_env

    env = child_env(tmp_path)
    env.pop("FOGPANEL_REDIS_URL", None)
    out = subprocess.run(PANEL_PROCS, cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode != 0
    assert "--num-procs N needs FOGPANEL_REDIS_URL" in out.stderr
    assert "Bokeh app running" not in out.stdout + out.stderr
