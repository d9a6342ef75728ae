"""Fixtures for end-to-end tests: real server processes, stopped by PID."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import threading
import time
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
    """Read the child's output until it prints its URL (bounded by STARTUP seconds).

    A thread drains the pipe for the child's whole life: select() on a buffered reader misses
    lines already buffered, and an undrained pipe would block the child once it fills.
    """
    assert proc.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        with proc.stdout:  # closed here, at EOF, by the only reader
            for line in proc.stdout:
                lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + STARTUP
    seen = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        match = re.search(pattern, line)
        if match:
            return int(match.group(1))
    proc.kill()
    raise AssertionError("server did not start:\n" + "".join(seen))


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator:
    """Start commands in this checkout with a private FOGPANEL_HOME; kill them after the test.

    Each command leads a process group of its own, killed whole: ``panel serve --num-procs``
    forks children that outlive their parent.
    """
    procs: list[subprocess.Popen[str]] = []

    def start(args: list[str], pattern: str) -> tuple[subprocess.Popen[str], int]:
        proc = subprocess.Popen(args, cwd=ROOT, env=child_env(tmp_path), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        procs.append(proc)
        return proc, _wait_for_port(proc, pattern)

    yield start
    for proc in procs:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # the group is gone already
        proc.wait(TIMEOUT)
