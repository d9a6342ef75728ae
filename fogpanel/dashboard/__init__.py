"""The Panel dashboard: a param state, six Viewer components and a per-session hub feed."""

from __future__ import annotations

__all__: list[str] = []
