"""One leader per chart: each chart's timers are fired by a process that serves that chart.

With one leader for the whole schema, a worker that served only some charts could lead, and
the timers of the charts it did not serve then waited for no one, although another worker
served them.  Each process now tries to lead only the charts it serves, one advisory lock
per chart, so every chart that some worker serves has a leader that can fire its timers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from statekeeper.storage.signals import SignalHandlers

psycopg = pytest.importorskip("psycopg", reason="PostgreSQL tests need the postgres extra")

from statekeeper.storage.postgres import PostgresStore, leader_lock_key  # noqa: E402

pytestmark = pytest.mark.postgres


@pytest.fixture
def store(pg_url: str) -> Iterator[PostgresStore]:
    opened = PostgresStore(pg_url)
    opened.migrate()
    yield opened
    opened.close()


def until(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    pause = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if condition():
            return True
        pause.wait(0.02)
    return condition()


def test_each_process_leads_the_charts_it_serves(store: PostgresStore) -> None:
    served = {"a": ["x", "y"], "b": ["y", "z"]}
    signals = {}
    try:
        signals["a"] = store.open_signals(SignalHandlers(
            effects=lambda: None, timer=lambda due: None, resync=lambda: None,
            check_every=0.05, charts=lambda: served["a"]))
        assert until(lambda: signals["a"].led == {"x", "y"})
        signals["b"] = store.open_signals(SignalHandlers(
            effects=lambda: None, timer=lambda due: None, resync=lambda: None,
            check_every=0.05, charts=lambda: served["b"]))
        assert until(lambda: signals["b"].led == {"z"}), "z is served by b alone"
        assert signals["a"].leader and signals["b"].leader
        served["b"] = ["y", "z", "w"]  # registered later: led at its next attempt
        assert until(lambda: signals["b"].led == {"z", "w"})
        signals["a"].close()  # its locks go with its session: b takes y over
        assert until(lambda: signals["b"].led == {"y", "z", "w"})
    finally:
        for opened in signals.values():
            opened.close()


def test_without_charts_one_leader_for_the_schema(store: PostgresStore, pg_schema: str) -> None:
    handlers = SignalHandlers(effects=lambda: None, timer=lambda due: None,
                              resync=lambda: None, check_every=0.05)
    first = store.open_signals(handlers)
    second = None
    try:
        assert until(lambda: first.leader)
        assert first.led is None
        second = store.open_signals(handlers)
        assert not until(lambda: second.leader, timeout=0.5)
    finally:
        first.close()
        if second is not None:
            assert until(lambda: second.leader)
            second.close()
    assert leader_lock_key(pg_schema) != leader_lock_key(pg_schema, "x") != \
        leader_lock_key(pg_schema, "y")
