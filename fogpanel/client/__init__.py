"""The Python client for the fogpanel API (see :mod:`fogpanel.client.client`)."""

from __future__ import annotations

from fogpanel.backoff import Backoff, BackoffPolicy
from fogpanel.client.client import ClientState, FogClient

__all__ = ["Backoff", "BackoffPolicy", "ClientState", "FogClient"]
