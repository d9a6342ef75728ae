"""kill -9 the server while agents ingest; after a restart every acknowledged sample is there."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from tests.conftest import SECRET
from tests.e2e.test_serve import _token


def _agent_token() -> str:
    import jwt

    return jwt.encode({"sub": "dur", "exp": int(time.time()) + 600, "role": "agent"}, SECRET)


async def test_acknowledged_ingest_survives_kill_9(spawn):
    """Every report answered 200 before SIGKILL is in the history after a restart."""
    cmd = [sys.executable, "-m", "fogpanel.cli", "serve", "--port", "0", "--sources", "agents"]
    pattern = r"dashboard at http://[\d.]+:(\d+)/app"
    proc, port = spawn(cmd, pattern)
    client = AsyncHTTPClient()
    token = _agent_token()
    acked: set[int] = set()
    counter = iter(range(10**6))
    stop = asyncio.Event()

    async def worker() -> None:
        while not stop.is_set():
            seq = next(counter)
            body = {"node_id": "dur-box", "timestamp": time.time(),
                    "metrics": {"seq": float(seq)}}
            try:
                resp = await client.fetch(
                    f"http://127.0.0.1:{port}/api/ingest", method="POST", body=json.dumps(body),
                    headers={"Authorization": f"Bearer {token}"}, request_timeout=5)
            except (TimeoutError, HTTPClientError, OSError):
                return  # the server is gone: this report was never acknowledged
            if resp.code == 200:
                acked.add(seq)

    workers = [asyncio.create_task(worker()) for _ in range(4)]
    deadline = asyncio.get_running_loop().time() + 60
    while len(acked) < 200 and asyncio.get_running_loop().time() < deadline:
        await asyncio.wait(workers, timeout=0.05)  # poll: acknowledged count, bounded in time
    proc.send_signal(signal.SIGKILL)
    await asyncio.wait_for(asyncio.gather(*workers), 30)
    stop.set()
    assert len(acked) >= 200
    proc.wait(10)

    _, port = spawn(cmd, pattern)
    resp = await client.fetch(
        f"http://127.0.0.1:{port}/api/ws/metrics/history?metric=device.dur-box.seq&hours=1",
        headers={"Authorization": f"Bearer {_token()}"})
    stored = {int(p["value"]) for p in json.loads(resp.body)["points"]}
    assert acked <= stored, f"lost {sorted(acked - stored)[:10]}"
