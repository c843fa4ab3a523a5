"""A timer fires once, guarded by its own row: the commit that fires it deletes it.

A timer's firing writes no idempotency (mailbox) row: the row's delete in the same commit
already says it fired, and a commit that finds its row gone loses.  So a second delivery of
a fired timer, by this process or another one on the same store, changes nothing and is
answered as a duplicate, with no log row of its own.
"""

from __future__ import annotations

from pathlib import Path

from statekeeper import Chart, State, VirtualClock
from statekeeper.client import Client
from statekeeper.runtime.requests import DeliverEvent, timer_key

WAIT = 5.0

LATE = Chart("late", version=1, initial="a", states={
    "a": State(on={"go": "b"}, after={"1s": "late"}),
    "b": State(on={"back": "a"}),
    "late": State(on={"back": "a"}),
})


def _request(client: Client, instance: str = "l-1") -> DeliverEvent:
    (timer,) = client.store.timers(instance)
    return client.worker.timers.request(timer, client.clock.now())


def test_a_fired_timer_writes_no_mailbox_row(client: Client, clock: VirtualClock) -> None:
    client.register(LATE)
    client.start("late", "l-1")
    (timer,) = client.store.timers("l-1")
    clock.advance(1)
    assert client.worker.run_until_idle() == 1
    assert client.get("l-1").state == "late"
    assert client.store.mailbox("l-1", timer_key(timer)) is None
    (fired,) = [r for r in client.history("l-1") if r.event.startswith("statekeeper.after")]
    assert fired.idempotency_key == timer_key(timer), "the log row still names the firing"
    assert client.store.timers("l-1") == []


def test_a_timer_delivered_again_by_a_process_that_had_not_read_it_is_a_duplicate(
        tmp_path: Path, clock: VirtualClock) -> None:
    # B reads the instance only after A's fire committed: its snapshot no longer holds the
    # timer, and the timer's row is gone, so B's delivery is answered as a duplicate and
    # writes nothing (no "ignored" row: the timer was handled, not refused).
    url = f"sqlite:///{tmp_path / 'once.db'}"
    with Client(url, clock=clock, worker=False) as a, \
            Client(url, clock=clock, worker=False) as b:
        for one in (a, b):
            one.register(LATE)
        a.start("late", "l-1")
        clock.advance(1)
        request = _request(b)  # B's scan read the row...
        assert a.worker.run_until_idle() == 1  # ...and A fired it first
        rev = a.get("l-1").rev
        state = b.engine.submit(request).result(WAIT)
        assert (state.outcome, state.state) == ("duplicate", "late")
        assert a.get("l-1").rev == rev
        assert [r.event for r in a.history("l-1")] == ["statekeeper.start", "statekeeper.after.a.0"]


def test_a_stale_cached_state_does_not_lose_a_pending_timer(tmp_path: Path,
                                                            clock: VirtualClock) -> None:
    # B cached the instance before A re-armed its timer: on B's cached snapshot the delivery
    # looks stale, but the row is there, so the rev check sends it back to be planned on what
    # A committed, and it fires.
    url = f"sqlite:///{tmp_path / 'stale.db'}"
    with Client(url, clock=clock, worker=False) as a, \
            Client(url, clock=clock, worker=False) as b:
        for one in (a, b):
            one.register(LATE)
        a.start("late", "l-1")
        assert b.get("l-1").state == "a"
        b.send("l-1", "go")  # B caches the instance in "b": no timer
        a.send("l-1", "back")  # A (reading it fresh) re-arms the timer in "a"
        clock.advance(1)
        state = b.engine.submit(_request(a)).result(WAIT)
        assert (state.outcome, state.state) == ("applied", "late")
        assert a.store.timers("l-1") == []
