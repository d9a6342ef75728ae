"""Scale-out benchmark: delivered messages/s and latency with 1, 2 and 4 processes on Redis.

Starts a private ``redis-server`` and, for each configuration, that many ``fogpanel serve``
processes sharing it (``FOGPANEL_REDIS_URL``); the baseline ``0`` is one process with the
in-process hub and no Redis. Load-generator processes (``bench/wsload.py``, the same raw clients
as ``bench/fanout.py``) spread N clients evenly over the processes, all in one room; messages
are published through one process's ``POST /api/ws/publish`` at a fixed rate and then flat out.
Reported per configuration: delivered messages/s, publish-to-receive latency p50/p99, CPU
microseconds per delivered message summed over the server processes and Redis (the Redis
path's overhead is the difference to the baseline), and the cores the generator used.

Every phase is bounded in time and count; every process is stopped by PID; only 127.0.0.1.

Usage: ``python bench/scale.py [--processes 0,1,2,4] [--clients 1000] [--duration 10]``
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import jwt
import psutil
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fanout import ROOM, Load, Publisher, _free_port, _phase, _wait_port, stop_server  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


class Processes:
    """CPU time summed over several processes (what ``_phase`` reads from "the server")."""

    def __init__(self, pids: list[int]) -> None:
        self.procs = [psutil.Process(pid) for pid in pids]

    def cpu_times(self) -> Any:
        user = system = 0.0
        for proc in self.procs:
            times = proc.cpu_times()
            user, system = user + times.user, system + times.system
        return type("Times", (), {"user": user, "system": system})()


def _stats(port: int, token: str) -> dict[str, Any]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/ws/stats",
                                 headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())  # type: ignore[no-any-return]


def run(processes: int, args: argparse.Namespace, secret: str, redis_port: int,
        redis_pid: int) -> dict[str, Any]:
    home = tempfile.mkdtemp(prefix="fogpanel-scale-")
    env = dict(os.environ, FOGPANEL_SECRET=secret, FOGPANEL_HOME=home, FOGPANEL_HISTORY_PATH="",
               FOGPANEL_ROOMS=f"nodes,tasks,metrics,alerts,resources,topology,{ROOM}",
               FOGPANEL_SOURCES="simulator", FOGPANEL_PING_INTERVAL="3600",
               FOGPANEL_IDLE_TIMEOUT="7200", FOGPANEL_CONNECTIONS_PER_MINUTE="100000",
               FOGPANEL_OUTBOUND_BUFFER_BYTES=str(64 * 1024 * 1024))
    if processes:
        redis.Redis(port=redis_port).flushall()
        env["FOGPANEL_REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
    admin = jwt.encode({"sub": "bench", "exp": int(time.time()) + 3600, "admin": True}, secret)
    ports = [_free_port() for _ in range(max(processes, 1))]
    servers = [subprocess.Popen(
        [sys.executable, "-m", "fogpanel.cli", "serve", "--port", str(port)], env=env, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for port in ports]
    workers = max(2, len(ports))
    load = Load(workers, secret)
    try:
        for port in ports:
            _wait_port(port)
        deadline = time.monotonic() + 30
        while processes and time.monotonic() < deadline:
            if all((_stats(p, admin).get("redis") or {}).get("connected") for p in ports):
                break
            time.sleep(0.2)  # polling for the processes to reach Redis, with a deadline
        per = args.clients // workers
        for w, pipe in enumerate(load.pipes):
            pipe.send(("connect", {"port": ports[w % len(ports)], "count": per,
                                   "prefix": f"p{processes}-{w}", "room": ROOM,
                                   "concurrency": 100, "timeout": 30.0}))
        connected = sum(pipe.recv()["connected"] for pipe in load.pipes)
        counted = Processes([s.pid for s in servers] + ([redis_pid] if processes else []))
        pub = Publisher(ports[0], admin)
        fixed = _phase(load, pub, counted, connected, rate=args.rate, duration=args.duration,
                       batch=1, max_messages=10**6)
        flat = _phase(load, pub, counted, connected, rate=None, duration=args.duration,
                      batch=args.batch, max_messages=args.max_messages)
    finally:
        load.stop()
        for server in servers:
            stop_server(server)
        shutil.rmtree(home, ignore_errors=True)
    return {"processes": processes, "redis": bool(processes), "clients": connected,
            "fixed": fixed, "max": flat}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", default="0,1,2,4",
                        help="configurations; 0 = one process, in-process hub, no Redis")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0, help="messages/s, fixed phase")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--max-messages", type=int, default=3000)
    args = parser.parse_args()
    binary = shutil.which("redis-server")
    if binary is None:
        print("redis-server is not installed", file=sys.stderr)
        return 2
    secret = secrets.token_urlsafe(48)
    redis_port = _free_port()
    redis_proc = subprocess.Popen([binary, "--port", str(redis_port), "--bind", "127.0.0.1",
                                   "--save", "", "--appendonly", "no"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = []
    try:
        _wait_port(redis_port)
        for n in (int(x) for x in args.processes.split(",")):
            result = run(n, args, secret, redis_port, redis_proc.pid)
            print(json.dumps(result), flush=True)
            results.append(result)
    finally:
        redis_proc.kill()
        redis_proc.wait(10)
    print(f"\n{'processes':>9} {'phase':>6} {'delivered/s':>11} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'cpu us/msg':>10} {'server cores':>12} {'gen cores':>9} {'missing':>7}")
    for r in results:
        label = f"{r['processes']} (redis)" if r["redis"] else "1 (local)"
        for key in ("fixed", "max"):
            p = r[key]
            print(f"{label:>9} {p['mode']:>6} {p['delivered_per_s']:>11} "
                  f"{p['latency_ms_p50']:>7} {p['latency_ms_p99']:>7} "
                  f"{p['server_cpu_us_per_msg']:>10} {p['server_cpu_cores']:>12} "
                  f"{p['generator_cpu_cores']:>9} {p['missing']:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
