"""A light WebSocket load generator process for ``bench/fanout.py``.

Each worker process holds many raw client connections on one asyncio loop. Frames are counted by
parsing headers only; JSON is decoded for connection set-up and for one message in ``SAMPLE``
(to read ``sent_at`` for latency), so the generator stays much cheaper than the server it loads.
Commands arrive over a multiprocessing pipe; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time
from multiprocessing.connection import Connection
from typing import Any

import jwt

SAMPLE = 10
_HANDSHAKE_END = b"\r\n\r\n"


def _masked(payload: bytes) -> bytes:
    mask = os.urandom(4)
    n = len(payload)
    head = bytes((0x81, 0x80 | n)) if n < 126 else bytes((0x81, 0x80 | 126)) + n.to_bytes(2, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class Client(asyncio.Protocol):
    """One connection: handshake, subscribe, then count frames."""

    def __init__(self, worker: Worker, request: bytes, room: str) -> None:
        self.worker = worker
        self.request = request
        self.room = room
        self.buf = bytearray()
        self.handshaken = False
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("closed during set-up"))
        self.worker.lost += 1

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.handshaken:
            end = buf.find(_HANDSHAKE_END)
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                if not self.ready.done():
                    self.ready.set_exception(ConnectionError(bytes(buf[:40]).decode()))
                return
            del buf[: end + 4]
            self.handshaken = True
            assert self.transport is not None
            self.transport.write(_masked(json.dumps(
                {"type": "subscribe", "rooms": [self.room]}).encode()))
        pos, n = 0, len(buf)
        worker = self.worker
        while n - pos >= 2:
            length = buf[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if n - pos < 4:
                    break
                length = int.from_bytes(buf[pos + 2: pos + 4], "big")
                head = 4
            elif length == 127:
                if n - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2: pos + 10], "big")
                head = 10
            end = pos + head + length
            if end > n:
                break
            opcode = buf[pos] & 0x0F
            if opcode == 0x8:
                worker.server_closes += 1
            elif not self.ready.done():
                msg = json.loads(bytes(buf[pos + head: end]))
                if msg.get("type") == "subscription_confirmed":
                    self.ready.set_result(None)
            else:
                worker.count += 1
                if worker.count % SAMPLE == 0:
                    msg = json.loads(bytes(buf[pos + head: end]))
                    sent = msg.get("data", {}).get("sent_at") if msg.get("room") else None
                    if sent is not None:
                        worker.latencies.append(time.time() - sent)
                worker.last_rx = time.time()
            pos = end
        if pos:
            del buf[:pos]


class Worker:
    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.clients: list[Client] = []
        self.count = 0
        self.latencies: list[float] = []
        self.last_rx = 0.0
        self.lost = 0
        self.server_closes = 0

    async def connect(self, port: int, count: int, prefix: str, room: str,
                      concurrency: int, timeout: float) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        sem = asyncio.Semaphore(concurrency)
        failed = 0
        exp = int(time.time()) + 3600

        async def one(i: int) -> None:
            nonlocal failed
            token = jwt.encode({"sub": f"{prefix}-{i}", "exp": exp}, self.secret)
            key = base64.b64encode(os.urandom(16)).decode()
            request = (f"GET /api/ws/connect?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}"
                       f"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
                       f"{key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
            async with sem:
                client = Client(self, request, room)
                try:
                    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    sock.setblocking(False)
                    await asyncio.wait_for(loop.sock_connect(sock, ("127.0.0.1", port)), timeout)
                    await loop.create_connection(lambda: client, sock=sock)
                    await asyncio.wait_for(client.ready, timeout)
                    self.clients.append(client)
                except (TimeoutError, OSError, ConnectionError):
                    failed += 1
                    if client.transport is not None:
                        client.transport.close()
                    else:
                        sock.close()

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(count)))
        return {"connected": count - failed, "failed": failed,
                "seconds": time.perf_counter() - started}

    def reset(self) -> dict[str, Any]:
        self.count, self.latencies, self.last_rx = 0, [], 0.0
        return {}

    def report(self) -> dict[str, Any]:
        return {"count": self.count, "latencies": self.latencies, "last_rx": self.last_rx,
                "open": sum(1 for c in self.clients if not c.closed),
                "server_closes": self.server_closes}

    def close(self) -> dict[str, Any]:
        for client in self.clients:
            if client.transport is not None:
                client.transport.abort()
        self.clients = []
        return {}


def worker_main(pipe: Connection, secret: str, cpu: int | None) -> None:
    """Process entry: serve commands from ``pipe`` until ``exit``."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    loop = asyncio.new_event_loop()
    worker = Worker(secret)
    done = loop.create_future()

    def on_command() -> None:
        cmd, kwargs = pipe.recv()
        if cmd == "exit":
            worker.close()
            loop.remove_reader(pipe.fileno())
            done.set_result(None)
            return
        if cmd == "connect":
            task = loop.create_task(worker.connect(**kwargs))
            task.add_done_callback(lambda t: pipe.send(t.result()))
            return
        pipe.send(getattr(worker, cmd)())

    loop.add_reader(pipe.fileno(), on_command)
    loop.run_until_complete(done)
    loop.close()
