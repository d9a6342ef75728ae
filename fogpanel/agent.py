"""``fogpanel agent``: report this machine's metrics to a fogpanel server.

Every ``--interval`` seconds it reads psutil (CPU, memory, disk, network, load) plus optional
custom metrics (a JSON object of name: number, from ``--metrics-file`` re-read each time, or the
latest line of stdin with ``--metrics-file -``) and posts one report to ``POST /api/ingest`` with
a token carrying ``"role": "agent"`` (``fogpanel token --sub NAME --role agent``). Network errors
are logged and retried at the next interval; a refused token (401/403) stops the agent with exit
code 2; SIGTERM/SIGINT stop it with exit code 0.
"""

from __future__ import annotations

import json
import logging
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from fogpanel.sources.host import read_metrics

__all__ = ["Agent", "build_report", "parse_custom"]

logger = logging.getLogger("fogpanel.agent")


def parse_custom(text: str) -> dict[str, float]:
    """Custom metrics from JSON text: an object of name: number (other entries are dropped).

    >>> parse_custom('{"queue_depth": 4, "name": "x", "ok": true}')
    {'queue_depth': 4.0}
    """
    obj = json.loads(text)
    if not isinstance(obj, dict):
        raise ValueError("custom metrics must be a JSON object")
    return {str(k): float(v) for k, v in obj.items()
            if isinstance(v, int | float) and not isinstance(v, bool)}


def build_report(node_id: str, now: float, metrics: dict[str, float],
                 device_class: str = "agent") -> dict[str, Any]:
    """One ingest report."""
    return {"node_id": node_id, "timestamp": now, "metrics": metrics,
            "device_class": device_class}


class Agent:
    """The report loop."""

    def __init__(self, url: str, token: str, *, interval: float, node_id: str,
                 metrics_file: str | None = None, device_class: str = "agent") -> None:
        self.endpoint = url.rstrip("/") + "/api/ingest"
        self.token = token
        self.interval = interval
        self.node_id = node_id
        self.metrics_file = metrics_file
        self.device_class = device_class
        self.stop_event = threading.Event()
        self.sent = 0
        self._stdin_metrics: dict[str, float] = {}
        if metrics_file == "-":
            threading.Thread(target=self._read_stdin, daemon=True).start()

    def _read_stdin(self) -> None:
        for line in sys.stdin:
            if line.strip():
                try:
                    self._stdin_metrics = parse_custom(line)
                except ValueError as exc:
                    logger.warning("ignoring a stdin line: %s", exc)

    def custom(self) -> dict[str, float]:
        if self.metrics_file is None:
            return {}
        if self.metrics_file == "-":
            return dict(self._stdin_metrics)
        try:
            return parse_custom(Path(self.metrics_file).read_text())
        except (OSError, ValueError) as exc:
            logger.warning("custom metrics from %s unreadable: %s", self.metrics_file, exc)
            return {}

    def send_once(self) -> int:
        """Post one report; return the HTTP status (0 when the server was unreachable)."""
        metrics = {**read_metrics(), **self.custom()}
        body = json.dumps(build_report(self.node_id, time.time(), metrics,
                                       self.device_class)).encode()
        request = urllib.request.Request(self.endpoint, data=body, method="POST", headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                self.sent += 1
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode(errors="replace")
            logger.warning("ingest refused (%s): %s", exc.code, detail)
            return int(exc.code)
        except (urllib.error.URLError, OSError) as exc:
            logger.warning("server unreachable: %s", exc)
            return 0

    def run(self, *, once: bool = False) -> int:
        start = time.monotonic()
        while not self.stop_event.is_set():
            status = self.send_once()
            if status in (401, 403):
                logger.error("the token was refused; stopping")
                return 2
            if once:
                return 0 if status == 200 else 1
            # Pace by the clock: the next slot, not "interval after this report finished".
            elapsed = time.monotonic() - start
            wait = self.interval - (elapsed % self.interval)
            self.stop_event.wait(wait)
        return 0


def run_agent(url: str, token: str, *, interval: float, node_id: str | None,
              metrics_file: str | None, device_class: str, once: bool) -> int:
    agent = Agent(url, token, interval=interval, node_id=node_id or socket.gethostname(),
                  metrics_file=metrics_file, device_class=device_class)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: agent.stop_event.set())
    logger.info("fogpanel agent: reporting %s to %s every %.1f s", agent.node_id,
                agent.endpoint, interval)
    return agent.run(once=once)
