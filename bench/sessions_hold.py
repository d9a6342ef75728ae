"""Hold N dashboard sessions open (a protocol-level client per session), then close them.

A protocol-level client, as a browser tab would: GET /app (the server creates the session and
its Document, and runs the app), then open the session's Bokeh WebSocket with the page's token,
pull the Document and report it rendered (PULL-DOC-REQ, then the ``document_ready`` event, as
BokehJS does: the pull tells the server the client holds every model, so later patches carry
only changes, and ``document_ready`` lets Panel send each tick's changes as one patch) and drain
what the server sends (no rendering). Run as
``python bench/sessions_hold.py URL N``; prints ``opened N``, closes every connection when a line
arrives on stdin, prints ``closed``. Used to reproduce the session-capacity figures in the README.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
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

    for _ in range(3):  # the server's ACK (header, metadata, content): it is ready to receive
        await conn.read_message()
    ready = {"type": "event", "name": "document_ready", "values": {"type": "map", "entries": []}}
    for msgtype, content in (("PULL-DOC-REQ", {}), ("PATCH-DOC", {"events": [
            {"kind": "MessageSent", "msg_type": "bokeh_event", "msg_data": ready}]})):
        header = {"msgid": secrets.token_hex(8), "msgtype": msgtype}
        for fragment in (header, {}, content):
            await conn.write_message(json.dumps(fragment))

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
