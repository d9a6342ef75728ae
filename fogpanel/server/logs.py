"""Log hygiene for our handlers: tokens never reach a log line, refusals never flood the log.

Tornado's access log and error log print the request URI, query string included, so a
``?token=`` would leak the bearer secret into logs. Every fogpanel handler mixes in
:class:`QuietLogMixin`, which redacts it. Refusals under load (429, 503) are summarised at most
once per interval instead of logging one line per refused request.

Examples
--------
>>> redact("/api/ws/connect?token=abc.def&x=1")
'/api/ws/connect?token=REDACTED&x=1'
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from tornado.log import access_log

__all__ = ["QuietLogMixin", "redact"]

logger = logging.getLogger("fogpanel.server")

_TOKEN_RE = re.compile(r"((?:^|[?&;])(?:access_)?token=)[^&;#]*", re.IGNORECASE)
_REFUSAL_STATUSES = (429, 503)
_SUMMARY_INTERVAL = 10.0


def redact(uri: str) -> str:
    """``uri`` with the value of any ``token``/``access_token`` parameter replaced."""
    return _TOKEN_RE.sub(r"\1REDACTED", uri)


class _RefusalSummary:
    """Counts refusals and logs one summary line per interval."""

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.next_log = 0.0

    def record(self, status: int, now: float) -> None:
        self.counts[status] = self.counts.get(status, 0) + 1
        if now >= self.next_log:
            logger.warning("refused requests in the last %.0fs: %s", _SUMMARY_INTERVAL,
                           ", ".join(f"{n} x {s}" for s, n in sorted(self.counts.items())))
            self.counts.clear()
            self.next_log = now + _SUMMARY_INTERVAL


_refusals = _RefusalSummary()


class QuietLogMixin:
    """Mix into a ``RequestHandler``: redacted request summaries, summarised refusals."""

    request: Any

    def _request_summary(self) -> str:
        return f"{self.request.method} {redact(self.request.uri)} ({self.request.remote_ip})"

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        # Tornado's default prints ``repr(self.request)``, which contains the raw URI.
        if value is not None and type(value).__name__ == "HTTPError":
            logger.warning("%s %s", value, self._request_summary())
            return
        logger.error("uncaught exception %s", self._request_summary(), exc_info=(typ, value, tb))

    def _log(self) -> None:
        status = self.get_status()  # type: ignore[attr-defined]
        if status in _REFUSAL_STATUSES:
            _refusals.record(status, time.monotonic())
            return
        if status == 101 and not access_log.isEnabledFor(logging.DEBUG):
            # One line per accepted WebSocket is a flood at thousands of clients (and ~10% of a
            # handshake's CPU); /api/ws/stats counts them. Logged at DEBUG level only.
            return
        super()._log()  # type: ignore[misc]
