"""Dashboard sessions benchmark: server CPU and memory per open session, and loop lag.

For each session count N: starts ``fogpanel serve`` (default cadences, pinned to CPU 0),
measures the idle server, holds N sessions open with ``bench/sessions_hold.py`` (protocol-level
clients: the server builds and updates every session's Document exactly as for a browser tab;
no rendering) and measures again: server CPU (from its own CPU time) and RSS per session, and
the event-loop lag p99 the server reports. Each N gets a fresh server, so a figure is the cost
of N open sessions and nothing else.

``--same-server`` steps through the counts on one server instead, each step after the previous
step's sessions are closed and collected: the figures then include what earlier sessions left
behind (memory a process keeps after tabs close, partly reused by later sessions). Every phase
is bounded in time.

By default three node crashes are injected during each measurement: each one's critical alert
reaches every open session at once, the moment most likely to stall the loop.

Usage: ``python bench/sessions.py [--sessions 10,50,100,150] [--seconds 30] [--settle 65]
[--incidents 3] [--same-server]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import jwt
import psutil

ROOT = Path(__file__).resolve().parents[1]


def _stats(port: int, secret: str) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/ws/stats",
                                 headers={"Authorization": f"Bearer {_admin(secret)}"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def _admin(secret: str) -> str:
    return jwt.encode({"sub": "bench", "exp": int(time.time()) + 600, "admin": True}, secret)


def _incident(port: int, secret: str) -> None:
    """Inject a node crash: its critical alert goes to every open session at once."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/sim/incidents", method="POST",
                                 data=json.dumps({"kind": "node_crash"}).encode(),
                                 headers={"Authorization": f"Bearer {_admin(secret)}"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        resp.read()


def _measure(proc: psutil.Process, port: int, secret: str, seconds: float,
             incidents: int = 0) -> dict:
    """CPU, RSS and loop lag over ``seconds``, with ``incidents`` node crashes spread over the
    window (each alert reaches every session at once)."""
    t0, c0 = time.monotonic(), sum(proc.cpu_times()[:2])
    for _ in range(incidents):
        time.sleep(seconds / (incidents + 1))  # a measurement window, not synchronisation
        _incident(port, secret)
    time.sleep(max(0.0, seconds - (time.monotonic() - t0)))
    cpu = (sum(proc.cpu_times()[:2]) - c0) / (time.monotonic() - t0)
    stats = _stats(port, secret)
    return {"cpu_cores": round(cpu, 4), "rss_mib": round(proc.memory_info().rss / 2**20, 1),
            "loop_lag_p99_ms": stats["loop_lag"]["p99_ms"],
            "loop_lag_max_ms": stats["loop_lag"]["max_ms"],
            "feeds": stats["dashboard"]["feeds"]}


def _wait_released(port: int, secret: str, collections: int, seconds: float = 180.0) -> None:
    """Wait until the closed sessions are gone (no live feeds) and collected (one more heap
    collection): the next step then reuses their memory instead of stacking on it (Bokeh keeps
    a closed session for its unused-session lifetime)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        stats = _stats(port, secret)
        if stats["dashboard"]["feeds"] == 0 and stats["heap"]["collections"] > collections:
            return
        time.sleep(1.0)  # polling a condition with a deadline
    raise SystemExit("closed sessions were not released in time")


class Server:
    """One ``fogpanel serve`` process on a free port, pinned to CPU 0."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        env = dict(os.environ, FOGPANEL_SECRET=secret,
                   FOGPANEL_HOME=tempfile.mkdtemp(prefix="fogpanel-sessions-"))
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "fogpanel.cli", "serve", "--port", "0"], env=env, cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            preexec_fn=lambda: os.sched_setaffinity(0, {0}))
        assert self.popen.stdout is not None
        self.port = 0
        for line in self.popen.stdout:
            match = re.search(r"dashboard at http://[\d.]+:(\d+)/app", line)
            if match:
                self.port = int(match.group(1))
                break
        self.proc = psutil.Process(self.popen.pid)

    def measure(self, seconds: float, incidents: int = 0) -> dict:
        return _measure(self.proc, self.port, self.secret, seconds, incidents)

    def stop(self) -> None:
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(30)
        except subprocess.TimeoutExpired:
            self.popen.kill()


def _step(server: Server, n: int, idle: dict, args: argparse.Namespace) -> dict:
    """Hold ``n`` sessions open, measure, close them and wait until they are released."""
    hold = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "sessions_hold.py"),
         f"http://127.0.0.1:{server.port}/app", str(n)], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True, preexec_fn=lambda: os.sched_setaffinity(0, {1}))
    assert hold.stdout is not None and hold.stdin is not None
    started = time.monotonic()
    opened = hold.stdout.readline().strip()
    open_s = time.monotonic() - started
    # Building sessions blocks the loop (~0.3 s each); let the server's 60 s lag window pass
    # before measuring, so the figures are those of sessions held open.
    time.sleep(args.settle)
    m = server.measure(args.seconds, args.incidents)
    result = {"sessions": n, "opened": opened, "open_seconds": round(open_s, 1),
              "idle_rss_mib": idle["rss_mib"], **m,
              "cpu_percent_per_session": round(100 * (m["cpu_cores"] - idle["cpu_cores"]) / n, 3),
              "rss_mib_per_session": round((m["rss_mib"] - idle["rss_mib"]) / n, 2)}
    collections = _stats(server.port, server.secret)["heap"]["collections"]
    hold.stdin.write("close\n")
    hold.stdin.flush()
    hold.wait(120)
    _wait_released(server.port, server.secret, collections)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", default="10,50,100,150")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--settle", type=float, default=65.0,
                        help="seconds between opening the sessions and measuring")
    parser.add_argument("--incidents", type=int, default=3,
                        help="node crashes injected during each measurement (their alerts go "
                             "to every session at once)")
    parser.add_argument("--same-server", action="store_true",
                        help="one server for every step (figures include earlier sessions' "
                             "leftovers)")
    args = parser.parse_args()
    secret = secrets.token_urlsafe(48)
    counts = [int(x) for x in args.sessions.split(",")]
    results = []
    server: Server | None = None
    try:
        for n in counts:
            if server is None or not args.same_server:
                if server is not None:
                    server.stop()
                server = Server(secret)
                idle = server.measure(args.seconds)
                results.append({"sessions": 0, **idle})
            results.append(_step(server, n, idle, args))
            print(json.dumps(results[-1]), flush=True)
    finally:
        if server is not None:
            server.stop()
    print(json.dumps({"same_server": args.same_server, "results": results}, indent=2))
    print(f"\n{'sessions':>8} {'cpu %/session':>14} {'MiB/session':>12} {'lag p99 ms':>11} "
          f"{'lag max ms':>11}")
    for r in results:
        if r["sessions"]:
            print(f"{r['sessions']:>8} {r['cpu_percent_per_session']:>14} "
                  f"{r['rss_mib_per_session']:>12} {r['loop_lag_p99_ms']:>11} "
                  f"{r['loop_lag_max_ms']:>11}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
