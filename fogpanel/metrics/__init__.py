"""The metrics engine (windows, detectors, rules, store); today only the sink interface."""

from __future__ import annotations

__all__: list[str] = []
