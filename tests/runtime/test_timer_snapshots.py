"""A timer that fired leaves the stored snapshot, whatever its event did.

Found by ``test_durable_properties.py``: a delayed send without an id carries no ``sendid``, so
the step could only drop it from the snapshot's pending timers when told which timer fired;
the planner did not tell it.  The timer row was deleted, but the snapshot kept the timer: a
machine restored from it would fire it again, and the snapshot disagreed with the store.
"""

from __future__ import annotations

import pytest

from statekeeper import Cancel, Chart, Final, Send, State, Transition
from statekeeper.client import Client
from statekeeper.runtime.rows import snapshot_from_row

TAKEN = Chart("ping", version=1, initial="idle", states={
    "idle": State(on={"go": Transition(None, actions=[Send(event="ping", delay=5)]),  # no id
                      "ping": "pinged"}),
    "pinged": Final(),
})
NOT_TAKEN = Chart("ping", version=1, initial="idle", states={
    "idle": State(on={"go": Transition(None, actions=[Send(event="ping", delay=5)]),
                      "away": "elsewhere"}),
    "elsewhere": State(on={"back": "idle"}),  # does not take ping
})


@pytest.mark.parametrize("taken", [True, False])
def test_a_fired_anonymous_timer_leaves_the_stored_snapshot(client: Client, taken: bool) -> None:
    client.register(TAKEN if taken else NOT_TAKEN)
    client.start("ping", "p-1")
    client.send("p-1", "go")
    if not taken:
        client.send("p-1", "away")
    assert len(snapshot_from_row(client.store.load("p-1")).timers) == 1
    client.clock.advance(5)  # type: ignore[attr-defined]
    client.worker.run_until_idle()
    assert client.get("p-1").state == ("pinged" if taken else "elsewhere")
    assert client.store.timers("p-1") == []
    assert snapshot_from_row(client.store.load("p-1")).timers == {}


SET_THEN_CANCEL = Chart("relay", version=1, initial="idle", states={
    # leaving idle arms t2 (its exit), and the same transition cancels it (its action)
    "idle": State(exit=[Send(event="tick", id="t2", delay=1)],
                  on={"go": Transition("idle", actions=[Cancel(sendid="t2")]),
                      "tick": "ticked"}),
    "ticked": Final(),
})


def test_a_timer_set_and_cancelled_in_one_step_is_not_armed(client: Client) -> None:
    # Found by test_durable_properties.py: the commit carried both the new timer row and its
    # cancellation, and the store deleted before it inserted, so the row stayed; its event,
    # unknown to the snapshot, was then ignored without closing the row: a busy loop.
    client.register(SET_THEN_CANCEL)
    client.start("relay", "r-1")
    client.send("r-1", "go")
    assert client.store.timers("r-1") == []
    assert snapshot_from_row(client.store.load("r-1")).timers == {}
    client.clock.advance(5)  # type: ignore[attr-defined]
    assert client.worker.run_until_idle() == 0
    assert client.get("r-1").state == "idle"


FINISH_EARLY = Chart("finish", version=1, initial="idle", states={
    "idle": State(entry=[Send(event="late", delay=10), Send(event="later", id="t", delay=20)],
                  on={"stop": "stopped"}),
    "stopped": Final(),
})


def test_finishing_cancels_the_pending_delayed_sends(client: Client) -> None:
    # Found by test_durable_properties.py: an instance that finished kept its delayed sends'
    # rows (the integrity check reports a timer of a finished instance).  An interpreter that
    # has exited sends nothing more; the step now cancels them, rows and snapshot alike.
    client.register(FINISH_EARLY)
    client.start("finish", "f-1")
    assert len(client.store.timers("f-1")) == 2
    client.send("f-1", "stop")
    assert client.store.timers("f-1") == []
    assert snapshot_from_row(client.store.load("f-1")).timers == {}
    assert client.store.integrity_check() == []
