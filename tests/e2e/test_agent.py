"""`fogpanel agent` as a subprocess against a running server: appears, then stale, then offline."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import TIMEOUT, recv_until, wait_until

ROOT = Path(__file__).resolve().parents[2]


async def test_agent_reports_then_goes_stale_then_offline(make_api, tmp_path):
    """The agent's device shows in resources (real) and stats; killed, it goes stale, offline."""
    api = await make_api(sources=("agents",), resources_interval=0.2, agent_stale_after=0.8,
                         agent_offline_after=1.6)
    api.services.start()
    custom = tmp_path / "custom.json"
    custom.write_text(json.dumps({"queue_depth": 7}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "fogpanel.cli", "agent", "--url", f"http://127.0.0.1:{api.port}",
         "--token", api.token("agent-e2e", role="agent"), "--interval", "0.2",
         "--node-id", "e2e-box", "--metrics-file", str(custom)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        conn = await api.connect()
        conn.write_message(json.dumps({"type": "subscribe", "rooms": ["resources"]}))
        msg = await recv_until(conn, lambda m: m.get("type") == "resource_update" and any(
            d["id"] == "e2e-box" for d in m["data"]["devices_details"]), timeout=30)
        device = next(d for d in msg["data"]["devices_details"] if d["id"] == "e2e-box")
        assert device["real"] is True and device["source"] == "agent"
        assert msg["data"]["sources"]["agents"] == 1
        _, stats, _ = await api.fetch("/api/ws/stats", token=api.token())
        assert [d["id"] for d in stats["agent_devices"]] == ["e2e-box"]
        metrics = api.services.cluster.agents.report("e2e-box").metrics
        assert metrics["queue_depth"] == 7.0 and 0 <= metrics["cpu_usage"] <= 100
    finally:
        proc.terminate()
        assert proc.wait(TIMEOUT) == 0
        proc.stderr.close()

    agents = api.services.cluster.agents
    await wait_until(lambda: agents.status("e2e-box", time.time()) == "stale", timeout=10)
    await wait_until(lambda: agents.status("e2e-box", time.time()) == "offline", timeout=10)
    msg = await recv_until(conn, lambda m: m.get("type") == "resource_update"
                           and m["data"]["online_devices"] == 0)
    assert msg["data"]["device_count"] == 1 and msg["data"]["sources"]["agents"] == 0


def test_agent_with_a_refused_token_exits_2(tmp_path):
    """A token the server refuses stops the agent with exit code 2 (not retried forever)."""
    import asyncio

    from tests.conftest import make_settings, start_api, stop_api

    async def main() -> int:
        api = await start_api(make_settings(sources=("agents",)))
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "fogpanel.cli", "agent", "--url",
                f"http://127.0.0.1:{api.port}", "--token", api.token("u"), "--interval", "0.2",
                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return await asyncio.wait_for(proc.wait(), 30)
        finally:
            await stop_api(api)

    assert asyncio.run(main()) == 2
