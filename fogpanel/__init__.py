"""fogpanel: a real-time monitoring hub for fog-compute clusters.

The package is split into a pure core (``fogpanel.protocol``: messages, auth, rate limits,
heartbeats, rooms, the API session state machine), the asyncio fan-out (``fogpanel.hub``), and thin
Tornado/Panel adapters (``fogpanel.server``, ``fogpanel.dashboard``). See ``docs/architecture.md``.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
