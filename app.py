"""Dashboard entry for ``panel serve app.py --plugins fogpanel.server.plugin``.

Panel re-executes this file for every session: it only fetches the process's shared services
from the package and builds one session's view.
"""

from __future__ import annotations

from fogpanel.dashboard.app import create_app
from fogpanel.server.services import get_services

create_app(get_services()).servable(title="fogpanel")
