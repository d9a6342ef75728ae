"""The one exception tree of fogpanel, and the one table from errors to wire codes.

Every error a client can see is a subclass of :class:`FogpanelError` carrying a stable ``code``
string (sent in ``error`` frames and HTTP error bodies) and, where the connection must end, a
WebSocket close code. Clients never see exception details or tracebacks; only ``code`` and a short
human message chosen here.

- FogpanelError
  - ConfigError             bad settings, refused at start-up
  - ProtocolError           a frame the client sent is not a valid message
    - BadJson               not JSON, or JSON but not an object
    - BadMessage            an object with missing/ill-typed fields, or a binary frame
    - UnknownType           ``type`` is missing or not one we know
  - AuthError               401 / close 4401
    - TokenMissing
    - TokenInvalid          bad signature, wrong algorithm, missing claims, bad aud/iss
    - TokenExpired
  - Forbidden               403 (cross-origin, other user's connection)
  - RoomError
    - UnknownRoom
    - ForbiddenRoom         the token's ``rooms`` claim does not allow it
  - RateLimited             429 / close 4429
  - HistoryGap              the ``since`` offset is older than the kept history
  - NotFound                404
    - UnknownMetric         no such metric (the name is in ``details``)
  - BadParameter            422, a query parameter is missing or invalid (named in ``details``)
  - PayloadTooLarge         413 (ingest bodies over the limit)
  - Overloaded              503 (connection cap reached)
    - Joining               503, not yet joined the cluster's shared room history (Redis)
"""

from __future__ import annotations

__all__ = [
    "CLOSE_AUTH",
    "CLOSE_GOING_AWAY",
    "CLOSE_IDLE",
    "CLOSE_INTERNAL",
    "CLOSE_RATE_LIMITED",
    "CLOSE_SLOW_CONSUMER",
    "CLOSE_TOO_BIG",
    "AuthError",
    "BadJson",
    "BadMessage",
    "ConfigError",
    "FogpanelError",
    "Forbidden",
    "ForbiddenRoom",
    "HistoryGap",
    "Joining",
    "NotFound",
    "Overloaded",
    "BadParameter",
    "UnknownMetric",
    "PayloadTooLarge",
    "ProtocolError",
    "RateLimited",
    "RoomError",
    "TokenExpired",
    "TokenInvalid",
    "TokenMissing",
    "UnknownRoom",
    "UnknownType",
]

# WebSocket close codes. 1000-1015 are RFC 6455; 4000-4999 are ours, chosen to echo HTTP statuses
# (4401 ~ 401, 4408 ~ 408, 4429 ~ 429) so an operator reading a log can guess them.
CLOSE_GOING_AWAY = 1001
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL = 1011
CLOSE_AUTH = 4401
CLOSE_IDLE = 4408
CLOSE_RATE_LIMITED = 4429
CLOSE_SLOW_CONSUMER = 4508


class FogpanelError(Exception):
    """Base of every fogpanel error; ``code`` is the stable wire code, ``status`` the HTTP one."""

    code = "internal_error"
    status = 500
    close_code: int | None = None

    def __init__(self, message: str = "", **details: object) -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.message = message or (self.__class__.__doc__ or self.code).strip()
        self.details = details


class ConfigError(FogpanelError):
    """A setting is missing or invalid."""

    code = "config_error"


class ProtocolError(FogpanelError):
    """The frame is not a valid fogpanel message."""

    code = "bad_message"
    status = 400


class BadJson(ProtocolError):
    """The frame is not a JSON object."""

    code = "bad_json"


class BadMessage(ProtocolError):
    """The message has missing or ill-typed fields."""

    code = "bad_message"
    status = 422


class UnknownType(ProtocolError):
    """The message type is missing or unknown."""

    code = "unknown_type"


class AuthError(FogpanelError):
    """Authentication failed."""

    code = "unauthorized"
    status = 401
    close_code = CLOSE_AUTH


class TokenMissing(AuthError):
    """No token was given."""

    code = "token_missing"


class TokenInvalid(AuthError):
    """The token is not valid."""

    code = "token_invalid"


class TokenExpired(AuthError):
    """The token has expired."""

    code = "token_expired"


class Forbidden(FogpanelError):
    """The caller may not do this."""

    code = "forbidden"
    status = 403


class RoomError(FogpanelError):
    """The room cannot be used."""

    code = "room_error"
    status = 400


class UnknownRoom(RoomError):
    """There is no such room."""

    code = "unknown_room"
    status = 404


class ForbiddenRoom(RoomError):
    """The token does not allow this room."""

    code = "forbidden_room"
    status = 403


class RateLimited(FogpanelError):
    """Too many requests; slow down."""

    code = "rate_limited"
    status = 429
    close_code = CLOSE_RATE_LIMITED

    def __init__(self, message: str = "", *, retry_after: float = 1.0, **details: object) -> None:
        super().__init__(message, **details)
        self.retry_after = retry_after


class HistoryGap(FogpanelError):
    """The requested messages are no longer kept; reload from a snapshot."""

    code = "history_gap"
    status = 410


class NotFound(FogpanelError):
    """No such resource."""

    code = "not_found"
    status = 404


class UnknownMetric(NotFound):
    """No such metric."""

    code = "unknown_metric"


class BadParameter(FogpanelError):
    """A query parameter is missing or invalid."""

    code = "bad_parameter"
    status = 422


class PayloadTooLarge(FogpanelError):
    """The body is larger than allowed."""

    code = "payload_too_large"
    status = 413


class Overloaded(FogpanelError):
    """The server holds as many connections as it may; try again later."""

    code = "overloaded"
    status = 503


class Joining(Overloaded):
    """With Redis: this process has not loaded the cluster's room history yet (it is starting,
    or was forked to replace one that died). Serving a client now would number its messages in
    a local history that is about to be replaced; the client retries in a second."""

    code = "joining"
    retry_after = 1
