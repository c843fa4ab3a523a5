"""The background timer scan: when it looks again.

A scan hands every due timer to the engine and then decides when to scan next: at the next
timer still to come, or, when it took as many timers as one scan may, as soon as those have
committed. Before this was so, a scan whose due timers were all in flight left the next one to
the periodic poll (a second by default), so under a steady stream of timers each fired up to a
second late. A scan asked for while timers are still in flight reads nothing and comes once
they have committed. These tests drive the scan by hand on a virtual clock, with no background thread.
"""

from __future__ import annotations

import pytest

from statekeeper import Chart, Final, State, VirtualClock
from statekeeper.client import Client
from statekeeper.runtime.requests import Request, StartInstance
from statekeeper.storage.records import TimerRecord

MINUTE = 60.0


def chart() -> Chart:
    return Chart("lease", initial="waiting", states={
        "waiting": State(after={"1m": "expired"}),
        "expired": Final(),
    })  # fmt: skip


def scan(client: Client) -> None:
    """One pass of the timer loop's scan, then wait until what it sent has committed."""
    client.worker._timer_at = None
    client.worker._fire_due()
    client.engine.flush()


def test_a_scan_wakes_for_the_next_timer_to_come(client: Client, clock: VirtualClock) -> None:
    client.register(chart())
    client.start("lease", "a")
    clock.advance(20)
    client.start("lease", "b")  # due 20 s after a's
    clock.advance(MINUTE - 20)
    scan(client)
    assert client.get("a").state == "expired"
    assert client.get("b").state == "waiting"
    assert client.worker._timer_at == clock.now() + 20, "the next scan is b's due time"


def test_a_full_scan_looks_again_once_its_timers_committed(client: Client,
                                                          clock: VirtualClock) -> None:
    client.register(chart())
    client.worker.timers.limit = 2  # an instance attribute: the class keeps its own
    for name in ("a", "b", "c"):
        client.start("lease", name)
    clock.advance(MINUTE)
    scan(client)
    assert [client.get(n).state for n in "abc"] == ["expired", "expired", "waiting"]
    wake = client.worker._timer_at
    assert wake is not None and wake <= clock.now(), "more were due than one scan takes"
    scan(client)
    assert client.get("c").state == "expired"
    assert client.worker._timer_at is None, "nothing left to wait for but the poll"
    assert client.store.next_timer_due() is None


def test_a_scan_asked_for_while_timers_are_in_flight_waits_for_them(
        client: Client, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    client.register(chart())
    for name in ("a", "b"):
        client.start("lease", name)
    clock.advance(MINUTE)
    timers = client.worker.timers
    row = next(t for t in client.store.due_timers(clock.now()) if t.instance == "a")
    key = (row.instance, row.timer_id)
    timers._in_flight.add(key)  # an earlier scan handed it over; it has not committed yet
    reads: list[float] = []
    read = client.store.due_timers

    def counted(now: float, *, limit: int = 1000,
                charts: list[str] | None = None) -> list[TimerRecord]:
        reads.append(now)
        return read(now, limit=limit, charts=charts)

    monkeypatch.setattr(client.store, "due_timers", counted)
    scan(client)  # the poll, or a new timer's wake-up, while a's fire is in flight
    assert reads == [], "a scan read the rows of timers still in flight"
    assert client.worker._timer_at is None
    client.engine.submit(timers.request(row, clock.now())).result()  # a's fire commits
    timers._settled(key)  # as its answer does, in the engine's thread
    assert client.worker._timer_at == clock.now(), "the put-off scan comes once they settled"
    scan(client)
    assert reads == [clock.now()]
    assert [client.get(n).state for n in "ab"] == ["expired", "expired"]
    assert [t.event for t in client.history("a")][-1] == "statekeeper.after.waiting.0"
    assert client.store.next_timer_due() is None


def test_a_scan_hands_over_at_most_a_group_of_the_engines(
        client: Client, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    # After a stall, a scan used to queue 5,000 deliveries at once: alive in the engine's queue,
    # they were tens of thousands of objects for every young collection to visit.
    client.register(chart())
    count = client.engine.max_batch + 100
    for n in range(count):
        client.engine.submit(StartInstance("lease", f"i-{n:05d}", data={}))
    client.engine.flush()
    clock.advance(MINUTE)
    posted: list[int] = []
    post_many = client.engine.post_many

    def counted(requests: list[Request]) -> None:
        posted.append(len(requests))
        post_many(requests)

    monkeypatch.setattr(client.engine, "post_many", counted)
    scan(client)
    scan(client)
    assert posted == [client.engine.max_batch, 100]
    assert client.store.next_timer_due() is None
