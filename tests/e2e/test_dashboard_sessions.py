"""Dashboard sessions at the protocol level: login when configured; open and close 50 sessions
three times and nothing is left behind."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

import jwt
import psutil
from tornado.httpclient import AsyncHTTPClient

from tests.conftest import SECRET
from tests.e2e.conftest import ROOT

HOLD = ROOT / "bench" / "sessions_hold.py"
SERVE = [sys.executable, "-m", "fogpanel.cli", "serve", "--port", "0"]
READY = r"dashboard at http://[\d.]+:(\d+)/app"


def _admin() -> str:
    return jwt.encode({"sub": "ops", "exp": int(time.time()) + 600, "admin": True}, SECRET)


async def test_dashboard_login_required_when_a_password_is_set(spawn, monkeypatch):
    """With FOGPANEL_DASHBOARD_PASSWORD the page needs a login; the API keeps using JWTs."""
    monkeypatch.setenv("FOGPANEL_DASHBOARD_PASSWORD", "correct-horse-battery")
    monkeypatch.setenv("FOGPANEL_SESSION_SECRET", "k" * 40)
    _, port = spawn(SERVE, READY)
    client = AsyncHTTPClient()
    base = f"http://127.0.0.1:{port}"
    page = await client.fetch(f"{base}/app", follow_redirects=False, raise_error=False)
    assert page.code == 302 and "/login" in page.headers["Location"]
    bad = await client.fetch(f"{base}/login", method="POST", follow_redirects=False,
                             raise_error=False,
                             body=urllib.parse.urlencode({"username": "ops", "password": "no"}))
    assert "Set-Cookie" not in bad.headers or "user=" not in bad.headers.get("Set-Cookie", "")
    good = await client.fetch(f"{base}/login", method="POST", follow_redirects=False,
                              raise_error=False, body=urllib.parse.urlencode(
                                  {"username": "ops", "password": "correct-horse-battery"}))
    cookie = "; ".join(c.split(";")[0] for c in good.headers.get_list("Set-Cookie"))
    page = await client.fetch(f"{base}/app", headers={"Cookie": cookie},
                              follow_redirects=False, raise_error=False)
    assert page.code == 200 and b"bokeh" in page.body.lower()
    streams = await client.fetch(f"{base}/api/ws/streams")
    assert streams.code == 200


def _deep_stats(port: int) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/ws/stats?deep=1",
                                 headers={"Authorization": f"Bearer {_admin()}"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def _residue(port: int) -> tuple[int, int, int]:
    """(live feeds, live Documents, hub subscribers over every room)."""
    stats = _deep_stats(port)
    return (stats["dashboard"]["feeds"], stats["dashboard"]["documents"],
            sum(room["subscribers"] for room in stats["rooms"].values()))


def _poll(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)  # polling a condition with a deadline
    raise AssertionError(f"timed out waiting for {what}")


def _pump(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)


def _line(lines: queue.Queue, seconds: float) -> str:
    try:
        return lines.get(timeout=seconds)
    except queue.Empty:
        raise AssertionError("the session holder did not answer") from None


def test_fifty_sessions_three_times_leave_nothing_behind(spawn, monkeypatch):
    """Open 50 dashboard sessions (protocol-level clients that pull the document as a tab
    does), close them, three times: feeds, Documents and hub subscribers return to the
    baseline each time, and RSS does not keep growing from cycle to cycle."""
    monkeypatch.setenv("FOGPANEL_DASHBOARD_SESSION_LIFETIME", "1")
    server, port = spawn(SERVE, READY)
    process = psutil.Process(server.pid)
    baseline = _residue(port)
    assert baseline[0] == 0
    rss = []
    for _cycle in range(3):
        with subprocess.Popen([sys.executable, str(HOLD), f"http://127.0.0.1:{port}/app",
                               "50"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True) as hold:
            try:
                lines: queue.Queue[str] = queue.Queue()
                threading.Thread(target=_pump, args=(hold.stdout, lines), daemon=True).start()
                assert _line(lines, 240).strip() == "opened 50"
                _poll(lambda: _deep_stats(port)["dashboard"]["feeds"] == 50, 60,
                      "50 live feeds")
                hold.stdin.write("close\n")
                hold.stdin.flush()
                assert _line(lines, 60).strip() == "closed"
                hold.wait(60)
            finally:
                if hold.poll() is None:
                    hold.kill()
                    hold.wait(10)
        _poll(lambda: _residue(port) == baseline, 90, f"the baseline {baseline}")
        rss.append(process.memory_info().rss)
    growth = (rss[2] - rss[0]) / 2**20
    assert growth < 25, f"RSS grew {growth:.1f} MiB from the first to the third cycle: {rss}"
