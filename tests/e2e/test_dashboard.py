"""The dashboard in real headless Chromium: every component renders with live data, an injected
incident appears in the alert feed within 2 s, acknowledge works, the theme toggles, no console
errors; a screenshot is saved to ``test-artifacts/``."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import jwt
import pytest
from tornado.httpclient import AsyncHTTPClient

from tests.conftest import SECRET, require_binary

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
FAST_ENV = {"FOGPANEL_NODES_INTERVAL": "0.5", "FOGPANEL_TASKS_INTERVAL": "0.5",
            "FOGPANEL_METRICS_INTERVAL": "0.5", "FOGPANEL_RESOURCES_INTERVAL": "0.5",
            "FOGPANEL_TOPOLOGY_INTERVAL": "0.2", "FOGPANEL_SIM_TICK": "0.2"}
COMPONENTS = [".fp-live-metrics", ".fp-node-status", ".fp-task-progress", ".fp-alerts",
              ".fp-resources", ".fp-topology"]


@pytest.fixture
async def browser():
    chromium = require_binary("chromium")
    playwright_api = pytest.importorskip("playwright.async_api")
    async with playwright_api.async_playwright() as p:
        b = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()


async def _poll(check, timeout: float, what: str):
    """Poll an async check until it returns a truthy value (bounded by ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)  # wait_until-style poll with a deadline


async def test_dashboard_end_to_end(spawn, browser, monkeypatch):
    """Render, live updates, alert in < 2 s, acknowledge, theme toggle, no console errors."""
    for key, value in FAST_ENV.items():
        monkeypatch.setenv(key, value)
    _, port = spawn([sys.executable, "-m", "fogpanel.cli", "serve", "--port", "0"],
                    r"dashboard at http://[\d.]+:(\d+)/app")
    page = await browser.new_page(viewport={"width": 1600, "height": 1800})
    # Keep the JS stack with each console error, so a failure says where it came from.
    await page.add_init_script(
        "const _err = console.error; console.error = (...a) => _err(...a, new Error().stack)")
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"{e}\n{getattr(e, 'stack', '')}"))
    await page.goto(f"http://127.0.0.1:{port}/app")
    for selector in COMPONENTS:
        await page.locator(selector).first.wait_for(timeout=30000)
    await page.locator(".fp-fresh[data-fresh=live]").wait_for(timeout=15000)
    health = page.locator(".fp-health")
    assert await health.get_attribute("data-status") in ("healthy", "degraded", "unhealthy")

    async def task_rows() -> str:
        # Panel renders widgets in shadow roots; CSS locators pierce them, innerText does not.
        cells = await page.locator(".fp-task-table .fp-task-row").all_inner_texts()
        return " ".join(cells)

    first = await _poll(task_rows, 15, "tasks in the table")
    assert "task-" in first
    await _poll(lambda: _changed(task_rows, first), 15, "the task list to change")
    # The live metric chart streams: its canvas changes.
    plot = page.locator(".fp-live-metrics canvas").first
    drawn = await plot.screenshot()
    await _poll(lambda: _shot_changed(plot, drawn), 15, "the metric chart to change")
    # The range select: the server takes the choice (and renders it as the selected option).
    await page.locator("select.fp-range").select_option("1 hour")
    await page.locator('select.fp-range option[value="1 hour"][selected]').wait_for(
        state="attached", timeout=10000)
    nodes = page.locator(".fp-node-status").first
    before = await nodes.screenshot()
    await _poll(lambda: _shot_changed(nodes, before), 15, "the node figures to change")

    token = jwt.encode({"sub": "ops", "exp": int(time.time()) + 600, "admin": True}, SECRET)
    resp = await AsyncHTTPClient().fetch(
        f"http://127.0.0.1:{port}/api/sim/incidents", method="POST",
        headers={"Authorization": f"Bearer {token}"}, body=json.dumps({"kind": "node_crash"}))
    target = json.loads(resp.body)["target"]
    injected = time.monotonic()
    alert = page.locator(".fp-alert", has_text=f"Node {target} crashed").first
    await alert.wait_for(timeout=5000)
    assert time.monotonic() - injected < 2.0
    assert await alert.get_attribute("data-severity") == "critical"
    # A critical alert raises a notification over the page's top right corner.
    toast = page.locator(".fp-toast", has_text=f"Node {target} crashed")
    await toast.wait_for(timeout=5000)
    box = await toast.bounding_box()
    assert box is not None and box["y"] < 100 and box["x"] + box["width"] > 1500, box
    await toast.locator(".fp-toast-close").click()
    await toast.wait_for(state="detached", timeout=5000)

    # Each alert carries its own buttons: acknowledge it, then silence what it matches.
    await alert.locator(".fp-ack").click()
    acked = page.locator(".fp-alert", has_text=f"Node {target} crashed").filter(
        has_text="acknowledged").first
    await acked.wait_for(timeout=5000)
    assert await acked.locator(".fp-ack").count() == 0
    await acked.locator(".fp-silence").click()
    await page.locator(".fp-alert-message", has_text="Silenced for 1 h").wait_for(timeout=5000)
    resp = await AsyncHTTPClient().fetch(f"http://127.0.0.1:{port}/api/ws/silences",
                                         headers={"Authorization": f"Bearer {token}"})
    silences = json.loads(resp.body)["silences"]
    assert [(s["author"], s["status"]) for s in silences] == [("dashboard", "active")]
    assert f"Node {target} crashed" in silences[0]["comment"]

    # The device table: a click on a row shows that device's history, on a header sorts.
    row = page.locator(".fp-device-row").first
    await row.wait_for(timeout=15000)
    device = await row.get_attribute("data-device")
    # Rows are re-rendered (and re-sorted by CPU) on every tick: click this device's row.
    await page.locator(f'.fp-device-row[data-device="{device}"]').click()
    await page.locator(".fp-device-history", has_text=f"device.{device}.cpu_usage").wait_for(
        timeout=10000)
    await page.locator('th[data-sort="id"]').click()

    async def sorted_by_id() -> bool:
        ids = [await r.get_attribute("data-device")
               for r in await page.locator(".fp-device-row").all()]
        return len(ids) > 1 and ids == sorted(ids)

    await _poll(sorted_by_id, 10, "the device rows sorted by id")

    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    await page.locator("#theme-switch").click()
    await page.wait_for_url("**theme=dark**", timeout=10000)
    await page.locator(".fp-health").first.wait_for(timeout=30000)
    await page.screenshot(path=str(ARTIFACTS / "dashboard-dark.png"), full_page=True)
    (ARTIFACTS / "console-errors.txt").write_text("\n\n".join(errors))
    assert errors == [], f"{len(errors)} console errors, see test-artifacts/console-errors.txt"


async def _changed(read, old: str) -> bool:
    return (await read()) != old


async def _shot_changed(locator, old: bytes) -> bool:
    return (await locator.screenshot()) != old


async def test_dashboard_shows_a_redis_outage_and_the_recovery(spawn, browser, redis_server,
                                                               monkeypatch):
    """Under scale-out the sidebar tells the operator when Redis is unreachable (the page keeps
    the process's latest data) and when it is back."""
    monkeypatch.setenv("FOGPANEL_REDIS_URL", redis_server.url)
    monkeypatch.setenv("FOGPANEL_LEADER_TTL", "1.5")
    _, port = spawn([sys.executable, "-m", "fogpanel.cli", "serve", "--port", "0"],
                    r"dashboard at http://[\d.]+:(\d+)/app")
    page = await browser.new_page(viewport={"width": 1600, "height": 1200})
    await page.goto(f"http://127.0.0.1:{port}/app")
    await page.locator(".fp-fresh[data-fresh=live]").wait_for(timeout=30000)
    await page.locator(".fp-redis[data-redis=up]").wait_for(timeout=15000)
    redis_server.stop()
    down = page.locator(".fp-redis[data-redis=down]")
    await down.wait_for(timeout=20000)  # the sidebar re-checks at least every 10 s
    assert "Redis unreachable since" in await down.inner_text()
    for selector in COMPONENTS:  # the page keeps what it had
        assert await page.locator(selector).count() >= 1
    redis_server.start()
    await page.locator(".fp-redis[data-redis=up]").wait_for(timeout=30000)
