"""JWT verification: every refusal has its code; claims are read as documented."""

from __future__ import annotations

import jwt
import pytest

from fogpanel.errors import TokenExpired, TokenInvalid, TokenMissing
from fogpanel.protocol.auth import Verifier, mint

KEY = "k" * 64


@pytest.mark.parametrize(
    ("token", "error"),
    [
        (None, TokenMissing),
        ("", TokenMissing),
        ("a.b.c", TokenInvalid),
        (jwt.encode({"sub": "a", "exp": 200}, "x" * 64), TokenInvalid),
        (jwt.encode({"sub": "a", "exp": 200}, None, algorithm="none"), TokenInvalid),
        (jwt.encode({"sub": "a", "exp": 200}, KEY, algorithm="HS512"), TokenInvalid),
        (jwt.encode({"exp": 200}, KEY), TokenInvalid),
        (jwt.encode({"sub": "a"}, KEY), TokenInvalid),
        (jwt.encode({"sub": "", "exp": 200}, KEY), TokenInvalid),
        (jwt.encode({"sub": "a", "exp": 200, "rooms": "nodes"}, KEY), TokenInvalid),
        (jwt.encode({"sub": "a", "exp": 200, "nbf": 150}, KEY), TokenInvalid),
        (jwt.encode({"sub": "a", "exp": 100}, KEY), TokenExpired),
    ],
    ids=["none", "empty", "garbage", "bad-signature", "alg-none", "wrong-alg", "no-sub",
         "no-exp", "empty-sub", "rooms-not-list", "not-yet-valid", "expired"],
)
def test_refusals(token, error):
    """Each bad token raises its own AuthError subclass."""
    with pytest.raises(error):
        Verifier(KEY).verify(token, now=100.0)


def test_claims_rooms_admin_role():
    """rooms, admin and role claims are read."""
    v = Verifier(KEY)
    c = v.verify(mint(KEY, sub="a", ttl=10, now=0, rooms=["nodes"], role="agent"), now=1)
    assert c.may_join("nodes") and not c.may_join("alerts") and c.role == "agent"
    assert not c.admin
    assert v.verify(mint(KEY, sub="r", ttl=10, now=0, admin=True), now=1).admin
    assert v.verify(mint(KEY, sub="r", ttl=10, now=0), now=1).may_join("anything")


def test_audience_and_issuer():
    """Configured aud/iss must match."""
    v = Verifier(KEY, audience="fp", issuer="ops")
    with pytest.raises(TokenInvalid):
        v.verify(mint(KEY, sub="a", ttl=10, now=0, audience="other", issuer="ops"), now=1)
    with pytest.raises(TokenInvalid):
        v.verify(mint(KEY, sub="a", ttl=10, now=0, audience="fp"), now=1)
    assert v.verify(mint(KEY, sub="a", ttl=10, now=0, audience="fp", issuer="ops"), now=1).sub


def test_configured_algorithm_is_pinned():
    """A verifier pinned to HS512 refuses HS256 tokens."""
    with pytest.raises(TokenInvalid):
        Verifier(KEY, "HS512").verify(mint(KEY, sub="a", ttl=10, now=0), now=1)
    token = mint(KEY, sub="a", ttl=10, now=0, algorithm="HS512")
    assert Verifier(KEY, "HS512").verify(token, now=1).sub == "a"
