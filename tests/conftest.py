"""Fixtures shared by every test."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

#: Threads a test may leave running: the one shared timer thread of SystemClock.
ALLOWED_THREADS = frozenset({"statekeeper-timers"})


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves a thread running (one that ends within a second is fine)."""
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate()
              if t not in before and t.name not in ALLOWED_THREADS and t.is_alive()]
    for thread in leaked:
        thread.join(timeout=1.0)
    leaked = [t for t in leaked if t.is_alive()]
    if leaked:
        pytest.fail(f"test leaked threads: {[t.name for t in leaked]}", pytrace=False)
