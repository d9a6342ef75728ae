"""The real commands as a user runs them: `fogpanel serve`, `panel serve ... --plugins`, token."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys

import jwt
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

from tests.conftest import SECRET, TIMEOUT, closed, recv, recv_until
from tests.e2e.conftest import child_env


def _token(sub: str = "ada") -> str:
    import time

    return jwt.encode({"sub": sub, "exp": int(time.time()) + 600}, SECRET)


async def _check_live_server(port: int) -> None:
    """The dashboard page renders and the API streams live cluster data."""
    client = AsyncHTTPClient()
    page = await client.fetch(f"http://127.0.0.1:{port}/app", raise_error=False)
    assert page.code == 200 and b"bokeh" in page.body.lower()
    streams = json.loads((await client.fetch(f"http://127.0.0.1:{port}/api/ws/streams")).body)
    assert len(streams["streams"]) == 6
    conn = await asyncio.wait_for(websocket_connect(HTTPRequest(
        f"ws://127.0.0.1:{port}/api/ws/connect?token={_token()}")), TIMEOUT)
    assert (await recv(conn))["type"] == "connection_established"
    conn.write_message(json.dumps({"type": "subscribe", "rooms": ["nodes"]}))
    assert (await recv(conn))["type"] == "subscription_confirmed"
    live = await recv_until(conn, lambda m: m.get("room") == "nodes" and "snapshot" not in m)
    assert live["type"] == "node_status_update" and live["offset"] >= 1
    assert live["data"]["betanet"]["active_nodes"] > 0 and live["data"]["sources"]["simulator"]
    conn.close()


async def test_fogpanel_serve_runs_dashboard_and_api_then_stops_on_sigterm(spawn):
    """`fogpanel serve` serves /app and the API; SIGTERM closes clients with 1001 and exits 0."""
    proc, port = spawn([sys.executable, "-m", "fogpanel.cli", "serve", "--port", "0"],
                       r"dashboard at http://[\d.]+:(\d+)/app")
    await _check_live_server(port)
    conn = await asyncio.wait_for(websocket_connect(HTTPRequest(
        f"ws://127.0.0.1:{port}/api/ws/connect?token={_token('bob')}")), TIMEOUT)
    await recv(conn)
    proc.send_signal(signal.SIGTERM)
    assert await closed(conn) == 1001
    assert await asyncio.get_running_loop().run_in_executor(None, proc.wait, TIMEOUT) == 0
    conn.close()


async def test_panel_serve_with_plugin_mounts_the_api(spawn):
    """`panel serve app.py --plugins fogpanel.server.plugin` serves the same API and page."""
    proc, port = spawn(
        [sys.executable, "-m", "panel", "serve", "app.py", "--plugins", "fogpanel.server.plugin",
         "--port", "0", "--address", "127.0.0.1"],
        r"Bokeh app running at: http://[\w.]+:(\d+)/app")
    await _check_live_server(port)
    proc.send_signal(signal.SIGTERM)
    await asyncio.get_running_loop().run_in_executor(None, proc.wait, TIMEOUT)


def test_token_command_prints_a_verifiable_token(tmp_path):
    """`fogpanel token` signs with FOGPANEL_SECRET and carries sub, rooms and ttl."""
    out = subprocess.run(
        [sys.executable, "-m", "fogpanel.cli", "token", "--sub", "ada", "--rooms", "nodes,tasks",
         "--ttl", "30m"], env=child_env(tmp_path), capture_output=True, text=True, check=True)
    claims = jwt.decode(out.stdout.strip(), SECRET, algorithms=["HS256"])
    assert claims["sub"] == "ada" and claims["rooms"] == ["nodes", "tasks"]
    assert 1790 <= claims["exp"] - claims["iat"] <= 1800


def test_token_command_refuses_short_secret(tmp_path):
    """A secret under 32 bytes is refused with a clear message and exit code 2."""
    env = child_env(tmp_path) | {"FOGPANEL_SECRET": "too-short"}
    out = subprocess.run([sys.executable, "-m", "fogpanel.cli", "token", "--sub", "a"], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 2 and "32 bytes" in out.stderr and out.stdout == ""
