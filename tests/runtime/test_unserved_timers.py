"""A process fires only the timers of the charts it registered, and is not stuck on others.

Only the leader scans timers, and it may lead while it has not registered every chart (it
serves only some; or its application registers charts after its worker started).  Before the
scan asked the store for the timers of its own charts, such timers were handed to the engine,
failed there, and came back at the head of every scan: enough of them filled each scan's limit,
and the timers it could fire were never read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from statekeeper import Chart, Final, State, VirtualClock
from statekeeper.client import Client
from statekeeper.storage import MemoryStore, Store, open_store


def chart(name: str, delay: str) -> Chart:
    return Chart(name, initial="waiting", states={
        "waiting": State(after={delay: "expired"}),
        "expired": Final(),
    })  # fmt: skip


@pytest.fixture
def two_stores(store_url: str) -> Iterator[tuple[Store, Store]]:
    """Two handles on one store, as two processes would have (memory: one object)."""
    if store_url.startswith("memory"):
        shared = MemoryStore()
        yield shared, shared
        return
    first, second = open_store(store_url), open_store(store_url)
    yield first, second
    first.close()
    second.close()


@pytest.mark.parametrize("how", ["run_due", "scan"])
def test_timers_of_unknown_charts_do_not_block_the_known(two_stores: tuple[Store, Store],
                                                         how: str) -> None:
    clock = VirtualClock(1_000_000.0)
    writer_store, leader_store = two_stores
    with Client(writer_store, clock=clock, worker=False) as writer, \
            Client(leader_store, clock=clock, worker=False) as leader:
        writer.register(chart("elsewhere", "1m"))
        writer.register(chart("here", "2m"))
        leader.register(chart("here", "2m"))  # "elsewhere" is served by another process
        for n in range(5):
            writer.start("elsewhere", f"x-{n}")
        writer.start("here", "h-1")
        clock.advance(180)
        leader.worker.timers.limit = 3  # fewer than the unknown chart's due timers
        if how == "run_due":
            assert leader.worker.run_due() == 1
        else:
            leader.worker._timer_at = None
            leader.worker._fire_due()
            leader.engine.flush()
            wake = leader.worker._timer_at
            assert wake is None or wake > clock.now(), "it would scan again at once"
        assert leader.get("h-1").state == "expired"
        assert [leader.get(f"x-{n}").state for n in range(5)] == ["waiting"] * 5
        assert len(writer.store.timers("x-0")) == 1, "left for a process that serves it"
        assert writer.worker.run_due() == 5
        assert writer.get("x-4").state == "expired"


@pytest.mark.postgres
def test_a_chart_served_by_one_worker_has_its_timers_fired(pg_url: str) -> None:
    """Two workers serve different charts; the one that started first led the whole schema,
    and the other's timers waited for no one.  Now each chart has a leader among the workers
    that serve it."""
    with Client(pg_url, poll=0.2, lease=3.0) as first:
        first.register(chart("here", "1s"))
        for _ in range(200):
            if first.worker.leader:
                break
            threading.Event().wait(0.05)
        assert first.worker.leader
        with Client(pg_url, poll=0.2, lease=3.0) as second:
            second.register(chart("elsewhere", "1s"))
            second.start("elsewhere", "e-1")
            first.start("here", "h-1")
            assert second.when("e-1", "expired", timeout=30).state == "expired"
            assert first.when("h-1", "expired", timeout=30).state == "expired"
