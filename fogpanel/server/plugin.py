"""Route module for Panel's own launcher: ``panel serve app.py --plugins fogpanel.server.plugin``.

Panel imports this module once, before the server starts, and mounts ``ROUTES`` beside the
dashboard. The settings are checked here, so a bad one stops ``panel serve`` with its message.
The route handlers look this process's services up per request, because with ``--num-procs N``
they are built in each forked process (:mod:`fogpanel.server.forking`); those processes join
through Redis, one of them publishing, so several processes without ``FOGPANEL_REDIS_URL`` are
refused: each would run its own hub and simulator and tell clients a different story.

Importing this module starts the server's services, so the test run does not collect it.
"""

from __future__ import annotations

import sys

from tornado.ioloop import IOLoop

from fogpanel.config import Settings
from fogpanel.errors import ConfigError
from fogpanel.server.forking import forks, start_in_each_child
from fogpanel.server.routes import build_routes
from fogpanel.server.services import alert_rules, get_services

__all__ = ["ROUTES"]


def _start() -> None:
    get_services().start()


def _prepare() -> None:
    try:
        settings = Settings.from_env()
        if forks(sys.argv[1:]):
            if not settings.redis_url:
                raise ConfigError(
                    "panel serve --num-procs N needs FOGPANEL_REDIS_URL: without Redis each "
                    "process would run its own hub and simulator")
            alert_rules(settings)
            start_in_each_child(_start)
        else:
            get_services()
            IOLoop.current().add_callback(_start)
    except ConfigError as exc:
        raise SystemExit(f"fogpanel: {exc}") from None


_prepare()
ROUTES = build_routes(get_services)
