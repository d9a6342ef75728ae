"""The pure API session with a fake clock: auth deadline, expiry, heartbeats, rate limits."""

from __future__ import annotations

import json

import pytest

from fogpanel.protocol.auth import Verifier, mint
from fogpanel.protocol.session import Admit, ApiSession, Close, Join, Leave, Send, State

KEY = "k" * 40


def make(now: float = 0.0, *, token_ttl: float | None = 3600, **kw) -> ApiSession:
    verifier = Verifier(KEY)
    claims = None
    if token_ttl is not None:
        claims = verifier.verify(mint(KEY, sub="ada", ttl=token_ttl, now=now), now=now)
    session = ApiSession("c1", verifier=verifier, rooms=["nodes", "tasks"], now=now,
                         claims=claims, **kw)
    session.start(now)
    return session


def sent(actions) -> list[dict]:
    return [json.loads(a.text) for a in actions if isinstance(a, Send)]


def test_query_token_greets_at_start():
    """With claims from the query string the session is READY and greets at once."""
    verifier = Verifier(KEY)
    claims = verifier.verify(mint(KEY, sub="ada", ttl=60, now=0), now=0)
    s = ApiSession("c9", verifier=verifier, rooms=["nodes"], now=0.0, claims=claims)
    (msg,) = sent(s.start(0.0))
    assert msg["type"] == "connection_established" and msg["connection_id"] == "c9"
    assert s.state is State.READY


def test_auth_deadline_closes_4401():
    """Without an auth message by the deadline, tick closes with 4401."""
    s = make(token_ttl=None, auth_timeout=5)
    assert s.next_deadline() == 5.0
    assert s.tick(4.9) == []
    assert s.tick(5.0) == [Close(4401, "authentication timed out")]
    assert s.state is State.CLOSED


def _auth(s: ApiSession, now: float, sub: str = "ada") -> list:
    token = mint(KEY, sub=sub, ttl=3600, now=now)
    return s.receive_text(json.dumps({"type": "auth", "token": token}), now)


def test_auth_message_asks_for_admission_and_holds_frames_until_admitted():
    """A valid auth message yields Admit(sub); frames sent meanwhile are handled, in order,
    right after connection_established."""
    s = make(token_ttl=None)
    assert _auth(s, 1.0) == [Admit("ada")] and s.state is State.ADMITTING
    assert s.receive_text('{"type":"subscribe","rooms":["nodes"]}', 1.1) == []
    assert s.receive_text('{"type":"ping"}', 1.2) == []
    actions = s.admitted(0.0, 1.3)
    assert [m["type"] for m in sent(actions)] == [
        "connection_established", "subscription_confirmed", "pong"]
    assert Join("nodes") in actions and s.state is State.READY


def test_refused_admission_errors_with_retry_after_then_closes_4429():
    s = make(token_ttl=None)
    _auth(s, 1.0)
    s.receive_text('{"type":"subscribe","rooms":["nodes"]}', 1.1)
    actions = s.admitted(12.5, 1.2)
    (msg,) = sent(actions)
    assert (msg["code"], msg["retry_after"]) == ("rate_limited", 12.5)
    assert actions[-1] == Close(4429, "connection rate limit")
    assert not any(isinstance(a, Join) for a in actions) and s.state is State.CLOSED


def test_auth_deadline_still_runs_while_admitting_and_a_late_answer_is_ignored():
    s = make(token_ttl=None, auth_timeout=5)
    _auth(s, 1.0)
    assert s.next_deadline() == 5.0
    assert s.tick(5.0) == [Close(4401, "authentication timed out")]
    assert s.admitted(0.0, 5.1) == []


def test_frames_held_while_admitting_are_bounded():
    s = make(token_ttl=None)
    _auth(s, 1.0)
    for _ in range(32):
        assert s.receive_text('{"type":"ping"}', 1.1) == []
    (msg,) = sent(s.receive_text('{"type":"ping"}', 1.1))
    assert msg["code"] == "rate_limited"
    assert [m["type"] for m in sent(s.admitted(0.0, 1.2))] == ["connection_established"] + [
        "pong"] * 32


def test_ping_allowed_before_auth():
    """A ping before auth is answered and does not close the session."""
    s = make(token_ttl=None)
    assert sent(s.receive_text('{"type":"ping"}', 1.0))[0]["type"] == "pong"
    assert s.state is State.AWAITING_AUTH


def test_token_refresh_extends_expiry_same_sub_only():
    """An auth message on a READY session refreshes the token; another sub is refused."""
    s = make(token_ttl=10)
    fresh = mint(KEY, sub="ada", ttl=100, now=5)
    (msg,) = sent(s.receive_text(json.dumps({"type": "auth", "token": fresh}), 5.0))
    assert msg["type"] == "authenticated"
    assert s.tick(20.0) == []  # past the old expiry, still open
    other = mint(KEY, sub="eve", ttl=100, now=6)
    (msg,) = sent(s.receive_text(json.dumps({"type": "auth", "token": other}), 6.0))
    assert msg["code"] == "token_invalid" and s.state is State.READY


def test_token_expiry_closes_open_session():
    """The session ends with 4401 exactly when its token expires."""
    s = make(token_ttl=100, ping_interval=30, idle_timeout=60)
    s.receive_control(95.0)
    assert s.next_deadline() == 30.0  # the first ping comes before expiry
    assert all(not isinstance(a, Close) for a in s.tick(99.0))
    actions = s.tick(100.0)
    assert sent(actions)[0]["code"] == "token_expired"
    assert actions[-1] == Close(4401, "token expired")


def test_server_pings_every_interval_and_idle_closes_4408():
    """Pings go out every 30 s; 60 s without any inbound frame closes with 4408."""
    s = make(ping_interval=30, idle_timeout=60)
    assert s.tick(29.0) == []
    assert sent(s.tick(30.0))[0]["type"] == "ping"
    assert s.tick(31.0) == []
    s.receive_text('{"type":"pong"}', 31.0)
    assert sent(s.tick(60.0))[0]["type"] == "ping"
    assert sent(s.tick(90.9))[0]["type"] == "ping"  # the third ping, still alive
    assert s.tick(91.0) == [Close(4408, "no frame received within the idle timeout")]


@pytest.mark.parametrize("frame", ['{"type":"pong"}', '{"type":"ping"}', "garbage"])
def test_any_inbound_frame_counts_as_liveness(frame):
    """A pong, a ping, even a bad frame resets the idle deadline."""
    s = make(ping_interval=30, idle_timeout=60)
    s.receive_text(frame, 50.0)
    assert s.tick(100.0)[-1:] != [Close(4408, "no frame received within the idle timeout")]
    assert s.tick(110.0)[-1] == Close(4408, "no frame received within the idle timeout")


def test_control_frames_count_as_liveness():
    """A WebSocket-level pong counts as liveness too."""
    s = make(ping_interval=30, idle_timeout=60)
    s.receive_control(59.0)
    assert sent(s.tick(61.0))[0]["type"] == "ping"
    assert s.state is State.READY
    assert not any(isinstance(a, Close) for a in s.tick(118.9))
    assert s.tick(119.0)[-1] == Close(4408, "no frame received within the idle timeout")


def test_rate_limit_error_once_then_close_when_persisting():
    """Over the rate: one error per streak, frames dropped, close 4429 after the threshold."""
    s = make(messages_per_second=10, message_burst=10, rate_limit_close_after=5)
    replies = [s.receive_text('{"type":"ping"}', 1.0) for _ in range(14)]
    assert all(sent(r)[0]["type"] == "pong" for r in replies[:10])
    assert sent(replies[10])[0]["code"] == "rate_limited"
    assert replies[11:14] == [[], [], []]
    last = s.receive_text('{"type":"ping"}', 1.0)
    assert last[-1] == Close(4429, "message rate limit exceeded")


def test_rate_limit_streak_resets_after_quiet_second():
    """A streak of limited frames is forgotten after a quiet second; tokens refill."""
    s = make(messages_per_second=1, message_burst=1, rate_limit_close_after=3)
    s.receive_text('{"type":"ping"}', 0.0)
    assert sent(s.receive_text('{"type":"ping"}', 0.0))[0]["code"] == "rate_limited"
    s.receive_text('{"type":"ping"}', 0.1)
    assert sent(s.receive_text('{"type":"ping"}', 5.0))[0]["type"] == "pong"
    assert sent(s.receive_text('{"type":"ping"}', 5.0))[0]["code"] == "rate_limited"
    assert s.state is State.READY


def test_subscribe_emits_confirm_then_join_with_since():
    """subscribe yields a confirmation and a Join carrying since/epoch per room."""
    s = make()
    actions = s.receive_text(json.dumps(
        {"type": "subscribe", "rooms": ["nodes", "tasks"], "since": {"nodes": 3}, "epoch": "e"}),
        1.0)
    joins = [a for a in actions if isinstance(a, Join)]
    assert joins == [Join("nodes", 3, "e"), Join("tasks", None, "e")]
    actions = s.receive_text('{"type":"unsubscribe","rooms":["nodes"]}', 2.0)
    assert Leave("nodes") in actions


def test_closed_session_ignores_input():
    """After closing, frames and ticks produce nothing."""
    s = make()
    s.closed()
    assert s.receive_text('{"type":"ping"}', 1.0) == [] and s.tick(1000.0) == []
