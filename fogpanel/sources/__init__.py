"""Sources of facts: the seeded fog-cluster simulator, the host (psutil), and ingested agents.

Everything here is pure or synchronous: it takes ``now`` and returns plain data, and the
publishers turn that data into room messages.
"""

from __future__ import annotations

__all__: list[str] = []
