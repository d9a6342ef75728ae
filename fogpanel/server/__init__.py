"""Tornado adapters: the WebSocket and HTTP handlers, the route table, and process services."""

from __future__ import annotations

__all__: list[str] = []
