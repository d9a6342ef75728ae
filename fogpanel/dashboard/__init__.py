"""The Panel dashboard (a placeholder page until the dashboard issue lands)."""

from __future__ import annotations

__all__: list[str] = []
