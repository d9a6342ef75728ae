"""Hold N dashboard sessions open (a protocol-level client per session), then close them.

A protocol-level client, as a browser tab would: GET /app (the server creates the session and
its Document, and runs the app), then open the session's Bokeh WebSocket with the page's token
and drain what the server sends (no rendering). Run as
``python bench/sessions_hold.py URL N``; prints ``opened N``, closes every connection when a line
arrives on stdin, prints ``closed``. Used to reproduce the session-capacity figures in the README.
"""

from __future__ import annotations

import asyncio
import re
import sys

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

_TOKEN = re.compile(r'"token":\s*"([^"]+)"')


async def open_session(url: str) -> object:
    page = await AsyncHTTPClient().fetch(url, request_timeout=60)
    token = _TOKEN.search(page.body.decode()).group(1)  # type: ignore[union-attr]
    ws_url = url.replace("http://", "ws://") + "/ws"
    conn = await websocket_connect(HTTPRequest(ws_url, request_timeout=60),
                                   subprotocols=["bokeh", token])

    async def drain() -> None:
        while await conn.read_message() is not None:
            pass

    asyncio.get_running_loop().create_task(drain())
    return conn


async def main() -> None:
    url, count = sys.argv[1], int(sys.argv[2])
    conns = [await open_session(url) for _ in range(count)]
    print(f"opened {len(conns)}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    for conn in conns:
        conn.close()  # type: ignore[attr-defined]
    print("closed", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
