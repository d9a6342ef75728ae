"""Running under ``panel serve --num-procs N``, where Tornado forks after our code has loaded.

Nothing that cannot cross a fork may exist when Tornado forks: an event loop (the children would
share its epoll descriptor: Bokeh then fails with ``EEXIST``), the history writer thread, SQLite
connections. So the services are built in each child, on an event loop of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Callable, Sequence

from tornado.ioloop import IOLoop

__all__ = ["forks", "start_in_each_child"]


def forks(argv: Sequence[str]) -> bool:
    """Whether a ``panel serve`` command line asks for several processes (``--num-procs N`` with
    N other than 1; 0 means one per core).

    >>> forks(["serve", "app.py", "--num-procs", "4"]), forks(["serve", "app.py"])
    (True, False)
    >>> forks(["serve", "app.py", "--num-procs=1"]), forks(["serve", "--num-procs", "0"])
    (False, True)
    """
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--num-procs", default="1")
    known, _ = parser.parse_known_args(list(argv))
    try:
        return int(known.num_procs) != 1
    except ValueError:
        return False  # Bokeh refuses the value itself


def start_in_each_child(start: Callable[[], None]) -> None:
    """Run ``start`` in every process forked from now on, on a fresh event loop of its own, as
    soon as that loop runs."""

    def after_fork() -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        IOLoop.current().add_callback(start)

    os.register_at_fork(after_in_child=after_fork)
