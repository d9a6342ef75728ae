"""Dashboard sessions at the protocol level: login when configured."""

from __future__ import annotations

import sys
import time
import urllib.parse
from pathlib import Path

import jwt
from tornado.httpclient import AsyncHTTPClient

from tests.conftest import SECRET

HELPER = Path(__file__).with_name("sessions_client.py")
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
