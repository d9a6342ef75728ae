"""The heap freezer: frozen objects are skipped by collections yet reclaimed after closes."""

from __future__ import annotations

import gc
import weakref

import pytest

from fogpanel.server.heap import HeapFreezer


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


@pytest.fixture
def heap():
    scheduled: list = []
    yield HeapFreezer(lambda delay, fn: scheduled.append(fn), settle=0.0), scheduled
    gc.unfreeze()


def test_built_sessions_are_frozen_and_closed_ones_reclaimed(heap):
    """After a build the session's objects sit in the permanent generation (a full collection
    does not free them even when dropped); the collection after a close does."""
    heap, scheduled = heap
    kept, session = Node(), Node()
    ref = weakref.ref(session)
    heap.session_built()
    assert gc.get_freeze_count() > 0
    del session
    gc.collect()
    assert ref() is not None  # frozen: skipped by the collector
    heap.session_closed()
    heap.session_closed()
    assert len(scheduled) == 1  # one collection for a burst of closes
    scheduled.pop()()
    assert ref() is None and heap.stats()["collections"] == 1
    assert heap.count(Node) == 1 and kept.me is kept  # frozen objects are counted too
    assert gc.get_freeze_count() > 0
