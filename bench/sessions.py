"""Dashboard sessions benchmark: server CPU and memory per open session, and loop lag.

Starts ``fogpanel serve`` (default cadences, pinned to CPU 0), measures the idle server, then
holds N sessions open with ``bench/sessions_hold.py`` (protocol-level clients: the server builds
and updates every session's Document exactly as for a browser tab; no rendering) and measures
again: server CPU (from its own CPU time) and RSS per session, and the event-loop lag p99 the
server reports. Steps through the session counts given; every phase is bounded in time.

Usage: ``python bench/sessions.py [--sessions 10,50,100,150] [--seconds 30] [--settle 65]``
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
    token = jwt.encode({"sub": "bench", "exp": int(time.time()) + 600, "admin": True}, secret)
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/ws/stats",
                                 headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def _measure(proc: psutil.Process, port: int, secret: str, seconds: float) -> dict:
    t0, c0 = time.monotonic(), sum(proc.cpu_times()[:2])
    time.sleep(seconds)  # a measurement window, not synchronisation
    cpu = (sum(proc.cpu_times()[:2]) - c0) / (time.monotonic() - t0)
    stats = _stats(port, secret)
    return {"cpu_cores": round(cpu, 4), "rss_mib": round(proc.memory_info().rss / 2**20, 1),
            "loop_lag_p99_ms": stats["loop_lag"]["p99_ms"],
            "feeds": stats["dashboard"]["feeds"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", default="10,50,100,150")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--settle", type=float, default=65.0,
                        help="seconds between opening the sessions and measuring")
    args = parser.parse_args()
    secret = secrets.token_urlsafe(48)
    home = tempfile.mkdtemp(prefix="fogpanel-sessions-")
    env = dict(os.environ, FOGPANEL_SECRET=secret, FOGPANEL_HOME=home)
    server = subprocess.Popen(
        [sys.executable, "-m", "fogpanel.cli", "serve", "--port", "0"], env=env, cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        preexec_fn=lambda: os.sched_setaffinity(0, {0}))
    results = []
    try:
        assert server.stdout is not None
        port = 0
        for line in server.stdout:
            match = re.search(r"dashboard at http://[\d.]+:(\d+)/app", line)
            if match:
                port = int(match.group(1))
                break
        proc = psutil.Process(server.pid)
        idle = _measure(proc, port, secret, args.seconds)
        results.append({"sessions": 0, **idle})
        for n in [int(x) for x in args.sessions.split(",")]:
            hold = subprocess.Popen(
                [sys.executable, str(ROOT / "bench" / "sessions_hold.py"),
                 f"http://127.0.0.1:{port}/app", str(n)], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, text=True,
                preexec_fn=lambda: os.sched_setaffinity(0, {1}))
            assert hold.stdout is not None and hold.stdin is not None
            started = time.monotonic()
            opened = hold.stdout.readline().strip()
            open_s = time.monotonic() - started
            # Building sessions blocks the loop (~0.8 s each); let the server's 60 s lag window
            # pass before measuring, so the figures are those of sessions held open.
            time.sleep(args.settle)
            m = _measure(proc, port, secret, args.seconds)
            per = max(n, 1)
            results.append({"sessions": n, "opened": opened, "open_seconds": round(open_s, 1),
                            **m,
                            "cpu_percent_per_session": round(
                                100 * (m["cpu_cores"] - idle["cpu_cores"]) / per, 3),
                            "rss_mib_per_session": round((m["rss_mib"] - idle["rss_mib"]) / per,
                                                         2)})
            hold.stdin.write("close\n")
            hold.stdin.flush()
            hold.wait(120)
            print(json.dumps(results[-1]), flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
    print(json.dumps({"results": results}, indent=2))
    print(f"\n{'sessions':>8} {'cpu %/session':>14} {'MiB/session':>12} {'lag p99 ms':>11}")
    for r in results[1:]:
        print(f"{r['sessions']:>8} {r['cpu_percent_per_session']:>14} "
              f"{r['rss_mib_per_session']:>12} {r['loop_lag_p99_ms']:>11}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
