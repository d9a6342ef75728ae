"""A process with Redis configured serves API clients only once it has joined the cluster's
room history: before that a handshake gets 503 ``joining`` with Retry-After."""

from __future__ import annotations

import asyncio
import json

import pytest
from tornado.httpclient import HTTPClientError
from tornado.websocket import websocket_connect

from tests.conftest import TIMEOUT, recv, wait_until


async def test_handshake_refused_until_the_room_history_is_loaded(make_api, redis_server):
    redis_server.stop()  # Redis comes up only after the process started
    api = await make_api(redis_url=redis_server.url, sources=("simulator",))
    api.services.start()
    with pytest.raises(HTTPClientError) as refused:
        await asyncio.wait_for(websocket_connect(f"{api.ws_url}?token={api.token()}"), TIMEOUT)
    assert refused.value.code == 503 and refused.value.response.headers["Retry-After"] == "1"
    assert json.loads(refused.value.response.body)["error"]["code"] == "joining"
    assert api.services.refused["joining"] == 1
    redis_server.start()
    await wait_until(api.services.joined, timeout=20)
    conn = await api.connect(established=False)
    assert (await recv(conn))["type"] == "connection_established"
