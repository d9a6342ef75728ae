"""JWT authentication: verify tokens against a pinned algorithm, and mint development tokens.

PyJWT checks the signature, the algorithm (pinned: a token signed with another algorithm, or with
``alg: none``, is refused), the required claims and ``aud``/``iss``. Expiry is checked here against
the ``now`` we are given rather than PyJWT's own clock, so tests drive it with a fake clock and the
session can end a connection exactly when its token expires.

Examples
--------
>>> v = Verifier("s" * 32)
>>> token = mint("s" * 32, sub="ada", ttl=60, now=1000.0, rooms=["nodes"])
>>> claims = v.verify(token, now=1010.0)
>>> claims.sub, sorted(claims.rooms), claims.exp
('ada', ['nodes'], 1060.0)
>>> v.verify(token, now=1061.0)
Traceback (most recent call last):
...
fogpanel.errors.TokenExpired: the token has expired
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jwt

from fogpanel.errors import TokenExpired, TokenInvalid, TokenMissing

__all__ = ["Claims", "Verifier", "mint"]


@dataclass(frozen=True, slots=True)
class Claims:
    """What fogpanel uses from a verified token."""

    sub: str
    exp: float
    rooms: frozenset[str] | None = None
    admin: bool = False
    role: str | None = None

    def may_join(self, room: str) -> bool:
        """Whether the token's ``rooms`` claim (absent means all) allows ``room``."""
        return self.rooms is None or room in self.rooms


class Verifier:
    """Checks tokens for one secret, algorithm and optional audience/issuer."""

    def __init__(
        self,
        secret: str,
        algorithm: str = "HS256",
        *,
        audience: str | None = None,
        issuer: str | None = None,
    ) -> None:
        self._secret = secret
        self._algorithm = algorithm
        self._audience = audience
        self._issuer = issuer

    def verify(self, token: str | None, *, now: float) -> Claims:
        """Return the token's claims, or raise an :class:`~fogpanel.errors.AuthError`."""
        if not token:
            raise TokenMissing("a token is required")
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[self._algorithm],
                audience=self._audience,
                issuer=self._issuer,
                options={
                    "require": ["exp", "sub"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "verify_aud": self._audience is not None,
                    "verify_iss": self._issuer is not None,
                },
            )
        except jwt.InvalidTokenError:
            raise TokenInvalid("the token is not valid") from None
        exp, sub = payload["exp"], payload["sub"]
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise TokenInvalid("the token is not valid")
        if not isinstance(sub, str) or not sub:
            raise TokenInvalid("the token is not valid")
        if exp <= now:
            raise TokenExpired("the token has expired")
        nbf = payload.get("nbf")
        if isinstance(nbf, int | float) and nbf > now:
            raise TokenInvalid("the token is not valid yet")
        rooms = payload.get("rooms")
        if rooms is not None and (
            not isinstance(rooms, list) or not all(isinstance(r, str) for r in rooms)
        ):
            raise TokenInvalid("the token's rooms claim must be a list of names")
        role = payload.get("role")
        return Claims(
            sub=sub,
            exp=float(exp),
            rooms=None if rooms is None else frozenset(rooms),
            admin=payload.get("admin") is True or role == "admin",
            role=role if isinstance(role, str) else None,
        )


def mint(
    secret: str,
    *,
    sub: str,
    ttl: float,
    now: float,
    rooms: Iterable[str] | None = None,
    admin: bool = False,
    role: str | None = None,
    algorithm: str = "HS256",
    audience: str | None = None,
    issuer: str | None = None,
) -> str:
    """A signed token for ``sub`` that expires ``ttl`` seconds after ``now``."""
    payload: dict[str, Any] = {"sub": sub, "iat": int(now), "exp": int(now + ttl)}
    if rooms is not None:
        payload["rooms"] = list(rooms)
    if admin:
        payload["admin"] = True
    if role:
        payload["role"] = role
    if audience:
        payload["aud"] = audience
    if issuer:
        payload["iss"] = issuer
    return jwt.encode(payload, secret, algorithm=algorithm)
