"""Publishers: room payloads built from the cluster (``rooms``), paced by a runner (``runner``)."""

from __future__ import annotations

from fogpanel.publishers.rooms import RoomPublishers
from fogpanel.publishers.runner import Publisher, PublisherRunner

__all__ = ["Publisher", "PublisherRunner", "RoomPublishers"]
