"""Settings, read once from the environment (``FOGPANEL_*``) and CLI overrides, validated once.

Everything tunable lives here so the rest of the code receives plain values. Invalid settings
raise :class:`fogpanel.errors.ConfigError` at start-up, never later in a request.

The history store defaults to ``$FOGPANEL_HOME/history.sqlite``; an empty
``FOGPANEL_HISTORY_PATH`` turns it off.

The JWT secret comes from ``FOGPANEL_SECRET``. When it is unset, a random development secret is
generated once, stored in ``$FOGPANEL_HOME/dev-secret`` (default ``~/.fogpanel``, mode 0600) and
printed once, so ``fogpanel serve`` and ``fogpanel token`` on the same machine agree without a
constant secret ever being baked in. Secrets shorter than 32 bytes are refused.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fogpanel.errors import ConfigError

__all__ = ["DEFAULT_ROOMS", "MIN_SECRET_BYTES", "SOURCES", "Settings", "resolve_secret"]

DEFAULT_ROOMS = ("nodes", "tasks", "metrics", "alerts", "resources", "topology")
SOURCES = ("simulator", "host", "agents")
MIN_SECRET_BYTES = 32
_SUPPORTED_ALGORITHMS = ("HS256", "HS384", "HS512")


@dataclass(frozen=True)
class Settings:
    """Validated settings for one fogpanel process (see ``docs/protocol.md`` for their effect)."""

    secret: str = field(repr=False, default="")
    jwt_algorithm: str = "HS256"
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    address: str = "127.0.0.1"
    port: int = 5006
    allowed_origins: tuple[str, ...] = ()
    rooms: tuple[str, ...] = DEFAULT_ROOMS
    auth_timeout: float = 5.0
    ping_interval: float = 30.0
    idle_timeout: float = 60.0
    max_frame_bytes: int = 64 * 1024
    connections_per_minute: int = 10
    messages_per_second: float = 100.0
    message_burst: int = 100
    rate_limit_close_after: int = 100
    outbound_buffer_bytes: int = 1024 * 1024
    history_size: int = 1000
    max_connections: int = 15_000
    sources: tuple[str, ...] = ("simulator", "host", "agents")
    seed: int = 42
    sim_nodes: int = 20
    sim_devices: int = 50
    sim_task_rate: float = 3.0
    sim_tick: float = 1.0
    incident_interval: float = 900.0
    nodes_interval: float = 5.0
    tasks_interval: float = 2.0
    metrics_interval: float = 10.0
    resources_interval: float = 15.0
    topology_interval: float = 1.0
    agent_stale_after: float = 30.0
    agent_offline_after: float = 120.0
    ingest_max_bytes: int = 1024 * 1024
    ingest_max_future: float = 300.0
    ingest_max_age: float = 3600.0
    history_path: str = ""
    flush_interval: float = 0.5
    rollup_1h_days: float = 90.0
    detectors: tuple[str, ...] = ()
    anomaly_learn_samples: int = 750
    anomaly_cooldown: int = 20
    rules_file: str = ""
    dashboard_session_lifetime: float = 15.0
    dashboard_password: str = field(repr=False, default="")
    session_secret: str = field(repr=False, default="")
    redis_url: str = field(repr=False, default="")
    leader_ttl: float = 5.0

    def __post_init__(self) -> None:
        if len(self.secret.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(f"the JWT secret must be at least {MIN_SECRET_BYTES} bytes long")
        if self.jwt_algorithm not in _SUPPORTED_ALGORITHMS:
            raise ConfigError(f"jwt_algorithm must be one of {', '.join(_SUPPORTED_ALGORITHMS)}")
        if not self.rooms or any(not r or not isinstance(r, str) for r in self.rooms):
            raise ConfigError("rooms must be a non-empty list of names")
        for name in ("auth_timeout", "ping_interval", "idle_timeout", "messages_per_second",
                     "sim_tick", "nodes_interval", "tasks_interval", "metrics_interval",
                     "resources_interval", "topology_interval", "agent_stale_after",
                     "agent_offline_after", "ingest_max_future", "ingest_max_age",
                     "leader_ttl"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive")
        for name in ("max_frame_bytes", "connections_per_minute", "message_burst",
                     "rate_limit_close_after", "outbound_buffer_bytes", "history_size",
                     "max_connections", "sim_nodes", "sim_devices", "ingest_max_bytes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")
        unknown = set(self.sources) - set(SOURCES)
        if unknown or not self.sources:
            raise ConfigError(f"sources must be a non-empty subset of {', '.join(SOURCES)}")
        if self.sim_task_rate < 0 or self.incident_interval < 0:
            raise ConfigError("sim_task_rate and incident_interval must not be negative")
        if not 0 < self.flush_interval <= 1.0:
            raise ConfigError("flush_interval must be in (0, 1] seconds")
        if self.anomaly_learn_samples < 0 or self.anomaly_cooldown < 1:
            raise ConfigError("anomaly_learn_samples must be >= 0, anomaly_cooldown >= 1")
        if self.dashboard_session_lifetime <= 0:
            raise ConfigError("dashboard_session_lifetime must be positive")
        if self.session_secret and len(self.session_secret.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(f"session_secret must be at least {MIN_SECRET_BYTES} bytes long")
        if self.agent_offline_after <= self.agent_stale_after:
            raise ConfigError("agent_offline_after must be longer than agent_stale_after")
        if self.idle_timeout <= self.ping_interval:
            raise ConfigError("idle_timeout must be longer than ping_interval")
        if not 0 <= self.port < 65536:
            raise ConfigError("port must be between 0 (any free port) and 65535")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``FOGPANEL_<FIELD>`` variables, then apply ``overrides``."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(f"FOGPANEL_{f.name.upper()}")
            if raw is not None and f.name != "secret":
                values[f.name] = _convert(f.name, f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "secret" not in values:
            values["secret"] = resolve_secret(env)
        if "history_path" not in values:
            values["history_path"] = str(_home(env) / "history.sqlite")
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied and validated again."""
        return dataclasses.replace(self, **changes)


def resolve_secret(env: Mapping[str, str]) -> str:
    """``FOGPANEL_SECRET``, or the per-machine development secret (created and printed once)."""
    secret = env.get("FOGPANEL_SECRET")
    if secret is not None:
        return secret
    home = _home(env)
    path = home / "dev-secret"
    if path.exists():
        return path.read_text().strip()
    home.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret + "\n")
    print(
        f"fogpanel: FOGPANEL_SECRET is not set; generated a development secret in {path}:\n"
        f"  {secret}\n"
        "Set FOGPANEL_SECRET in production.",
        file=sys.stderr,
    )
    return secret


def _home(env: Mapping[str, str]) -> Path:
    return Path(env.get("FOGPANEL_HOME") or Path.home() / ".fogpanel")


def _convert(name: str, kind: Any, raw: str) -> Any:
    kind = str(kind)
    try:
        if kind.startswith("tuple"):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        if kind == "bool":
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "str | None":
            return raw or None
        return raw
    except ValueError:
        raise ConfigError(f"FOGPANEL_{name.upper()}={raw!r} is not a valid {kind}") from None
