"""``fogpanel serve | token | agent``: the command line.

``serve`` starts what ``panel serve app.py --plugins fogpanel.server.plugin`` starts (the
dashboard at ``/app`` and the API under ``/api/ws/``) and stops cleanly on SIGTERM/SIGINT: the
publishers stop, every API connection is closed with 1001, and the process exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import signal
import sys
import time
from collections.abc import Sequence

from fogpanel.config import Settings
from fogpanel.errors import ConfigError
from fogpanel.protocol.auth import mint

__all__ = ["main", "parse_ttl"]

logger = logging.getLogger("fogpanel.cli")

_TTL_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_ttl(text: str) -> float:
    """Seconds in ``text`` (``90``, ``90s``, ``30m``, ``1h``, ``7d``).

    >>> parse_ttl("1h"), parse_ttl("90")
    (3600.0, 90.0)
    """
    match = _TTL_RE.match(text)
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 30m, 1h, 7d)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _rooms(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [room for value in values for room in value.split(",") if room]


def _token(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    print(mint(
        settings.secret, sub=args.sub, ttl=args.ttl, now=time.time(), rooms=_rooms(args.rooms),
        admin=args.admin, role=args.role, algorithm=settings.jwt_algorithm,
        audience=settings.jwt_audience, issuer=settings.jwt_issuer,
    ))
    return 0


def _agent(args: argparse.Namespace) -> int:
    from fogpanel.agent import run_agent

    return run_agent(args.url, args.token, interval=args.interval, node_id=args.node_id,
                     metrics_file=args.metrics_file, device_class=args.device_class,
                     once=args.once)


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _serve(args: argparse.Namespace) -> int:
    import panel as pn
    from tornado.ioloop import IOLoop

    from fogpanel.dashboard.app import create_app
    from fogpanel.server.routes import build_routes
    from fogpanel.server.services import build_services, set_services

    sources = tuple(args.sources.split(",")) if args.sources else None
    settings = Settings.from_env(address=args.address, port=args.port, sources=sources)
    services = build_services(settings)
    set_services(services)
    hosts = [f"localhost:{settings.port}", f"127.0.0.1:{settings.port}",
             f"{settings.address}:{settings.port}"]
    hosts += [re.sub(r"^\w+://", "", o) for o in settings.allowed_origins if o != "*"]
    lifetime_ms = int(settings.dashboard_session_lifetime * 1000)
    options: dict[str, object] = {
        # Closed tabs are discarded after this long (Bokeh's default is 15 s, checked every 17).
        "unused_session_lifetime_milliseconds": lifetime_ms,
        "check_unused_sessions_milliseconds": max(200, min(17_000, lifetime_ms // 2)),
    }
    if settings.session_secret:
        options.update(sign_sessions=True, secret_key=settings.session_secret)
    if settings.dashboard_password:
        options.update(basic_auth=settings.dashboard_password,
                       cookie_secret=settings.session_secret or settings.secret)
    server = pn.serve(
        {"app": lambda: create_app(services)},
        address=settings.address,
        port=settings.port,
        extra_patterns=build_routes(services),
        websocket_origin=["*"] if "*" in settings.allowed_origins else hosts,
        show=False,
        start=False,
        title="fogpanel",
        **options,
    )
    loop = IOLoop.current()
    stopping = asyncio.Event()

    async def shutdown() -> None:
        if stopping.is_set():
            return
        stopping.set()
        logger.info("fogpanel: stopping")
        await services.stop()
        server.stop()
        loop.stop()

    aio = asyncio.get_event_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        aio.add_signal_handler(sig, lambda: aio.create_task(shutdown()))
    server.start()
    loop.add_callback(services.start)
    port = server.port
    print(f"fogpanel: dashboard at http://{settings.address}:{port}/app, "
          f"API at ws://{settings.address}:{port}/api/ws/connect", flush=True)
    loop.start()
    print("fogpanel: stopped", flush=True)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fogpanel", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start the dashboard and API in one process")
    serve.add_argument("--address", default=None, help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 5006; 0 = any)")
    serve.add_argument("--sources", default=None,
                       help="comma list of simulator,host,agents (default: all three)")
    serve.set_defaults(func=_serve)
    token = sub.add_parser("token", help="print a signed token (secret from FOGPANEL_SECRET)")
    token.add_argument("--sub", required=True, help="the user (JWT sub claim)")
    token.add_argument("--rooms", nargs="+", default=None,
                       help="rooms the token may join (default: all)")
    token.add_argument("--ttl", type=parse_ttl, default=3600.0, help="lifetime, e.g. 30m, 1h")
    token.add_argument("--admin", action="store_true", help="may inspect any connection")
    token.add_argument("--role", default=None, help="role claim, e.g. agent")
    token.set_defaults(func=_token)
    agent = sub.add_parser("agent", help="report this machine's metrics to a server")
    agent.add_argument("--url", required=True, help="the server, e.g. http://127.0.0.1:5006")
    agent.add_argument("--token", required=True, help="a token with the agent role")
    agent.add_argument("--interval", type=_positive, default=5.0, help="seconds between reports")
    agent.add_argument("--node-id", default=None, help="device id (default: the hostname)")
    agent.add_argument("--device-class", default="agent", help="device class shown in rooms")
    agent.add_argument("--metrics-file", default=None,
                       help="JSON object of custom metrics, re-read each time; - for stdin")
    agent.add_argument("--once", action="store_true", help="send one report and exit")
    agent.set_defaults(func=_agent)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"fogpanel: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
