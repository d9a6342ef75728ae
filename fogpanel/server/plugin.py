"""Route module for Panel's own launcher: ``panel serve app.py --plugins fogpanel.server.plugin``.

Panel imports this module once per process and mounts ``ROUTES`` beside the dashboard. The
process's services are built here from the environment, and the publishers are started as soon
as the server's loop runs.
"""

from __future__ import annotations

from tornado.ioloop import IOLoop

from fogpanel.server.routes import build_routes
from fogpanel.server.services import get_services

__all__ = ["ROUTES"]

_services = get_services()
ROUTES = build_routes(_services)
IOLoop.current().add_callback(_services.start)
