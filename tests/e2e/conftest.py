"""Fixtures for end-to-end tests: real server processes, stopped by PID."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SECRET, TIMEOUT

ROOT = Path(__file__).resolve().parents[2]
STARTUP = 60.0


def child_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"FOGPANEL_SECRET": SECRET, "FOGPANEL_HOME": str(tmp_path),
                "FOGPANEL_NODES_INTERVAL": "0.2", "PYTHONUNBUFFERED": "1"})
    return env


def _wait_for_port(proc: subprocess.Popen[str], pattern: str) -> int:
    """Read the child's output until it prints its URL (bounded by STARTUP seconds)."""
    import selectors
    import time

    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + STARTUP
    seen = []
    while time.monotonic() < deadline:
        if not sel.select(timeout=deadline - time.monotonic()):
            continue
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        match = re.search(pattern, line)
        if match:
            return int(match.group(1))
    proc.kill()
    raise AssertionError("server did not start:\n" + "".join(seen))




@pytest.fixture
def spawn(tmp_path: Path) -> Iterator:
    """Start commands in this checkout with a private FOGPANEL_HOME; kill them after the test."""
    procs: list[subprocess.Popen[str]] = []

    def start(args: list[str], pattern: str) -> tuple[subprocess.Popen[str], int]:
        proc = subprocess.Popen(args, cwd=ROOT, env=child_env(tmp_path), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        procs.append(proc)
        return proc, _wait_for_port(proc, pattern)

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(TIMEOUT)
        if proc.stdout:
            proc.stdout.close()
