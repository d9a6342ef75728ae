"""Fan-out benchmark: fogpanel's hub against the naive per-subscriber baseline, same run.

Starts the real server (``fogpanel serve``, pinned to CPU 0) and then the naive baseline
(``bench/naive_server.py``, same pinning), opens N clients from several load-generator processes
(pinned to CPU 1), subscribes them to one room, publishes ~470-byte messages through
``POST /api/ws/publish`` at a fixed rate and then at the maximum rate, and reports for each:

- delivered messages/s (wall clock) and server CPU microseconds per delivered message, read from
  the server process's own CPU time (the headline: it does not depend on the generator's speed
  as long as every message is received; ``1e6 / cpu_us`` is the per-core capacity);
- publish-to-receive latency p50/p99 (sampled, one message in ten);
- broadcast loop time (the server's own fan-out timer), RSS per idle connection, handshakes/s,
  connections reached, messages not received, and the CPU each side used.

Every phase is bounded in time and count; the servers are stopped by PID. Only 127.0.0.1 is used.

Usage: ``python bench/fanout.py [--clients 1000] [--max-connections 10000] [--out FILE]``
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import jwt
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wsload import worker_main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ROOM = "bench"  # a room no built-in publisher writes to
MESSAGE_BYTES = 470
SERVER_CPU = 0
LOAD_CPU = 1


def _free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on {port} did not start")


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {cpu})


def _start_server(kind: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    if kind == "fogpanel":
        cmd = [sys.executable, "-m", "fogpanel.cli", "serve", "--port", str(port)]
    else:
        cmd = [sys.executable, str(ROOT / "bench" / "naive_server.py"), str(port)]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, preexec_fn=lambda: _pin(SERVER_CPU))
    _wait_port(port)
    return proc


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it has not exited in 15 s (by PID, never by name)."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class Load:
    """The generator processes and the publisher."""

    def __init__(self, workers: int, secret: str) -> None:
        ctx = mp.get_context("fork")
        self.pipes = []
        self.procs = []
        for _ in range(workers):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=worker_main, args=(child, secret, LOAD_CPU), daemon=True)
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)

    def call(self, cmd: str, wait: float = 120.0, **kwargs: Any) -> list[dict[str, Any]]:
        for pipe in self.pipes:
            pipe.send((cmd, kwargs))
        out = []
        for pipe in self.pipes:
            if not pipe.poll(wait):
                raise RuntimeError(f"worker did not answer {cmd!r} within {wait}s")
            out.append(pipe.recv())
        return out

    def cpu_seconds(self) -> float:
        total = 0.0
        for proc in [psutil.Process(p.pid) for p in self.procs] + [psutil.Process()]:
            t = proc.cpu_times()
            total += t.user + t.system
        return total

    def stop(self) -> None:
        for pipe in self.pipes:
            pipe.send(("exit", {}))
        for proc in self.procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()


def _payload(seq: int) -> dict[str, Any]:
    base = {"sent_at": time.time(), "seq": seq, "pad": ""}
    probe = {"type": "bench_update", "room": ROOM, "data": base,
             "timestamp": "2026-01-01T00:00:00.000Z", "offset": 10**6}
    base["pad"] = "x" * max(0, MESSAGE_BYTES - len(json.dumps(probe, separators=(",", ":"))))
    return base


class Publisher:
    def __init__(self, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.sent = 0

    def publish(self, count: int) -> None:
        msgs = [{"room": ROOM, "type": "bench_update", "data": _payload(self.sent + i)}
                for i in range(count)]
        self.conn.request("POST", "/api/ws/publish", json.dumps({"messages": msgs}),
                          self.headers)
        resp = self.conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise RuntimeError(f"publish failed: {resp.status}")
        self.sent += count

    def stats(self) -> dict[str, Any]:
        self.conn.request("GET", "/api/ws/stats", headers=self.headers)
        resp = self.conn.getresponse()
        return json.loads(resp.read())  # type: ignore[no-any-return]


def _cpu(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def _phase(load: Load, pub: Publisher, server: psutil.Process, clients: int, *,
           rate: float | None, duration: float, batch: int, max_messages: int) -> dict[str, Any]:
    """Publish at ``rate`` (or flat out in batches) for ``duration``; drain; measure."""
    load.call("reset")
    before = pub.stats()
    cpu0, gen0 = _cpu(server), load.cpu_seconds()
    sent0 = pub.sent
    t0 = time.time()
    end = t0 + duration
    n = 0
    while time.time() < end and n < max_messages:
        if rate is not None:
            pub.publish(1)
            n += 1
            delay = t0 + n / rate - time.time()
            if delay > 0:
                time.sleep(delay)  # pacing the publisher, not synchronisation
        else:
            pub.publish(batch)
            n += batch
    published = pub.sent - sent0
    expected = published * clients
    deadline = time.time() + 30
    while True:
        reports = load.call("report")
        got = sum(r["count"] for r in reports)
        if got >= expected or time.time() > deadline:
            break
        time.sleep(0.2)
    cpu1, gen1 = _cpu(server), load.cpu_seconds()
    after = pub.stats()
    last_rx = max((r["last_rx"] for r in reports), default=t0)
    wall = max(last_rx - t0, 1e-9)
    lat = [x for r in reports for x in r["latencies"]]
    fanouts = published or 1
    return {
        "mode": f"{rate:g}/s" if rate else "max",
        "published": published,
        "expected": expected,
        "received": got,
        "missing": expected - got,
        "delivered_per_s": round(got / wall),
        "server_cpu_us_per_msg": round((cpu1 - cpu0) / max(got, 1) * 1e6, 2),
        "server_core_capacity_msgs_per_s": round(max(got, 1) / max(cpu1 - cpu0, 1e-9)),
        "server_cpu_cores": round((cpu1 - cpu0) / wall, 2),
        "generator_cpu_cores": round((gen1 - gen0) / wall, 2),
        "latency_ms_p50": round(1000 * (_pct(lat, 0.5) or 0), 2),
        "latency_ms_p99": round(1000 * (_pct(lat, 0.99) or 0), 2),
        "broadcast_loop_ms_mean": round(1000 * (
            after["fanout_seconds_total"] - before["fanout_seconds_total"]) / fanouts, 3),
        "broadcast_loop_ms_max": round(1000 * after["fanout_seconds_max"], 3),
        "server_closes_seen": sum(r["server_closes"] for r in reports),
    }


def run_target(kind: str, args: argparse.Namespace, secret: str) -> dict[str, Any]:
    port = _free_port()
    home = tempfile.mkdtemp(prefix="fogpanel-bench-")  # the server's history file goes here
    env = dict(os.environ, FOGPANEL_SECRET=secret, FOGPANEL_HOME=home,
               FOGPANEL_ROOMS="nodes,tasks,metrics,alerts,resources,topology," + ROOM,
               FOGPANEL_PING_INTERVAL="3600", FOGPANEL_IDLE_TIMEOUT="7200",
               FOGPANEL_OUTBOUND_BUFFER_BYTES=str(64 * 1024 * 1024),
               FOGPANEL_MAX_CONNECTIONS=str(max(args.clients, args.max_connections) + 100),
               FOGPANEL_HISTORY_SIZE="1000")
    proc = _start_server(kind, port, env)
    server = psutil.Process(proc.pid)
    load = Load(args.workers, secret)
    admin = jwt.encode({"sub": "bench", "exp": int(time.time()) + 3600, "admin": True}, secret)
    result: dict[str, Any] = {"server": kind}
    try:
        rss0 = server.memory_info().rss
        per = args.clients // args.workers
        t0, cpu0 = time.perf_counter(), _cpu(server)
        got = load.call("connect", port=port, count=per, prefix=f"{kind}-a", room=ROOM,
                        concurrency=100, timeout=30.0)
        took = time.perf_counter() - t0
        connected = sum(g["connected"] for g in got)
        rss1 = server.memory_info().rss
        result["clients"] = connected
        result["handshakes_per_s"] = round(connected / took)
        result["handshake_server_cpu_cores"] = round((_cpu(server) - cpu0) / took, 2)
        result["rss_kib_per_idle_connection"] = round((rss1 - rss0) / max(connected, 1) / 1024, 1)
        pub = Publisher(port, admin)
        result["fixed"] = _phase(load, pub, server, connected, rate=args.rate,
                                 duration=args.duration, batch=1, max_messages=10**6)
        result["max"] = _phase(load, pub, server, connected, rate=None, duration=args.duration,
                               batch=args.batch, max_messages=args.max_messages)
        if kind == "fogpanel" and args.max_connections > connected:
            extra = args.max_connections - connected
            t0, cpu0 = time.perf_counter(), _cpu(server)
            got = load.call("connect", port=port, count=extra // args.workers,
                            prefix=f"{kind}-b", room=ROOM, concurrency=100, timeout=60.0)
            took = time.perf_counter() - t0
            more = sum(g["connected"] for g in got)
            rss2 = server.memory_info().rss
            result["many"] = {
                "target": args.max_connections,
                "reached": connected + more,
                "handshakes_per_s": round(more / took),
                "handshake_server_cpu_cores": round((_cpu(server) - cpu0) / took, 2),
                "rss_kib_per_idle_connection": round((rss2 - rss0) / (connected + more) / 1024, 1),
                "server_active_connections": pub.stats().get("active_connections"),
            }
    finally:
        load.stop()
        stop_server(proc)
        shutil.rmtree(home, ignore_errors=True)
    return result


def _table(results: list[dict[str, Any]]) -> str:
    rows = [("server", "mode", "delivered/s", "cpu us/msg", "core cap/s", "p50 ms", "p99 ms",
             "loop ms", "missing")]
    for r in results:
        for key in ("fixed", "max"):
            p = r[key]
            rows.append((r["server"], p["mode"], str(p["delivered_per_s"]),
                         str(p["server_cpu_us_per_msg"]), str(p["server_core_capacity_msgs_per_s"]),
                         str(p["latency_ms_p50"]), str(p["latency_ms_p99"]),
                         str(p["broadcast_loop_ms_mean"]), str(p["missing"])))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))
                     for row in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4, help="load-generator processes")
    parser.add_argument("--rate", type=float, default=10.0, help="fixed-rate messages/s")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase")
    parser.add_argument("--batch", type=int, default=10, help="messages per publish at max rate")
    parser.add_argument("--max-messages", type=int, default=2000,
                        help="cap on messages published in the max-rate phase")
    parser.add_argument("--max-connections", type=int, default=10_000,
                        help="connections to reach in the capacity phase (0 to skip)")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--out", type=Path, default=None, help="write the JSON here too")
    args = parser.parse_args()
    secret = secrets.token_urlsafe(48)
    results = [run_target("fogpanel", args, secret)]
    if not args.skip_baseline:
        results.append(run_target("naive", args, secret))
    summary: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                    "server_cpu": SERVER_CPU, "load_cpu": LOAD_CPU},
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "results": results,
    }
    if len(results) == 2:
        fog, naive = results[0]["max"], results[1]["max"]
        summary["ratio_cpu_per_msg_naive_over_fogpanel"] = round(
            naive["server_cpu_us_per_msg"] / max(fog["server_cpu_us_per_msg"], 1e-9), 2)
    text = json.dumps(summary, indent=2)
    print(text)
    print()
    print(_table(results))
    if "ratio_cpu_per_msg_naive_over_fogpanel" in summary:
        print(f"\nserver CPU per delivered message, naive / fogpanel: "
              f"{summary['ratio_cpu_per_msg_naive_over_fogpanel']}x")
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
