"""Settings validation and the development secret."""

from __future__ import annotations

import os
import stat

import pytest

from fogpanel.config import Settings, resolve_secret
from fogpanel.errors import ConfigError

GOOD = "g" * 32


def test_short_secret_refused():
    """A secret under 32 bytes is refused at start-up."""
    with pytest.raises(ConfigError, match="32 bytes"):
        Settings(secret="short")
    with pytest.raises(ConfigError):
        Settings.from_env({"FOGPANEL_SECRET": "x" * 31})


def test_env_values_are_converted_and_validated():
    """FOGPANEL_* variables are typed; bad values raise ConfigError naming the variable."""
    s = Settings.from_env({"FOGPANEL_SECRET": GOOD, "FOGPANEL_ROOMS": "a, b",
                           "FOGPANEL_MAX_FRAME_BYTES": "1024",
                           "FOGPANEL_SOURCES": "simulator,agents",
                           "FOGPANEL_JWT_AUDIENCE": "fp"})
    assert s.rooms == ("a", "b") and s.max_frame_bytes == 1024
    assert s.sources == ("simulator", "agents")
    assert s.jwt_audience == "fp"
    with pytest.raises(ConfigError, match="FOGPANEL_PORT"):
        Settings.from_env({"FOGPANEL_SECRET": GOOD, "FOGPANEL_PORT": "eighty"})
    with pytest.raises(ConfigError, match="jwt_algorithm"):
        Settings.from_env({"FOGPANEL_SECRET": GOOD, "FOGPANEL_JWT_ALGORITHM": "none"})
    with pytest.raises(ConfigError, match="sources"):
        Settings.from_env({"FOGPANEL_SECRET": GOOD, "FOGPANEL_SOURCES": "simulator,mars"})
    with pytest.raises(ConfigError, match="idle_timeout"):
        Settings(secret=GOOD, ping_interval=30, idle_timeout=10)


def test_dev_secret_generated_once_printed_once(tmp_path, capsys):
    """Unset FOGPANEL_SECRET: a random secret is stored (0600) and printed the first time only."""
    env = {"FOGPANEL_HOME": str(tmp_path)}
    first = resolve_secret(env)
    printed = capsys.readouterr().err
    assert first in printed and len(first) >= 32
    assert stat.S_IMODE(os.stat(tmp_path / "dev-secret").st_mode) == 0o600
    assert resolve_secret(env) == first
    assert capsys.readouterr().err == ""
    other = resolve_secret({"FOGPANEL_HOME": str(tmp_path / "elsewhere")})
    capsys.readouterr()
    assert other != first
