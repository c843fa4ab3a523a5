"""Events a chart sends itself (no delay) are processed right after the step that sent them.

SCXML puts such an event on the external queue, so it comes before anything that arrives
later: a caller's next event, or a timer that falls due at the same moment.  The durable
runtime used to keep it as a timer due at once for the worker to fire, so a timer already due
could come first (found by ``test_durable_properties.py``), and ``send`` answered before the
chart had settled.  Now the engine plans it in the same group commit, right after its origin,
and the caller's answer is the state the chart settled in, as ``Machine.send`` returns it.
"""

from __future__ import annotations

import datetime

from statekeeper import Assign, Chart, Final, Send, State, Transition
from statekeeper.client import Client

CHECKOUT = Chart("checkout", version=1, initial="cart", states={
    "cart": State(on={"submit": Transition("checking", actions=[Send(event="checked")])}),
    "checking": State(on={"checked": Transition("paying", actions=[Send(event="charged")])}),
    "paying": State(on={"charged": "done"}),
    "done": Final(),
})


def test_send_answers_with_the_state_the_chart_settled_in(client: Client) -> None:
    client.register(CHECKOUT)
    client.start("checkout", "c-1")
    state = client.send("c-1", "submit", idempotency_key="k-1")
    assert (state.state, state.outcome, state.rev) == ("done", "applied", 4)
    assert [(t.event, t.target[-1]) for t in client.history("c-1")] == [
        ("statekeeper.start", "cart"), ("submit", "checking"), ("checked", "paying"),
        ("charged", "done")]
    assert client.store.timers("c-1") == []
    assert client.worker.run_until_idle() == 0  # nothing was left for the worker
    again = client.send("c-1", "submit", idempotency_key="k-1")  # a retry: the first answer
    assert (again.state, again.outcome, again.rev) == ("done", "duplicate", 4)


RACE = Chart("race", version=1, initial="a", states={
    # both timers fall due at t=1; the first one's transition sends "hop" to itself, which
    # SCXML processes before the second timer's event (an in-memory machine does)
    "a": State(entry=[Send(event="first", delay=1), Send(event="second", delay=1)],
               on={"first": Transition(None, actions=[Send(event="hop")]),
                   "hop": "hopped", "second": "missed"}),
    "hopped": State(on={"second": "fine"}),
    "missed": Final(),
    "fine": Final(),
})


def test_a_self_sent_event_comes_before_a_timer_due_at_the_same_time(client: Client) -> None:
    client.register(RACE)
    client.start("race", "r-1")
    client.clock.advance(1)  # type: ignore[attr-defined]
    client.worker.run_until_idle()
    assert client.get("r-1").state == "fine"
    assert [t.event for t in client.history("r-1")][1:] == ["first", "hop", "second"]


STAMP = Chart("stamp", version=1, initial="idle", states={
    "idle": State(on={"go": Transition("going", actions=[Send(event="stamp")])}),
    "going": State(on={"stamp": Transition("stamped", actions=[Assign("at", expr="now")])}),
    "stamped": Final(),
}, data={"at": None})


def test_a_chained_event_that_cannot_be_stored_leaves_its_origin_answered_alone(
        client: Client) -> None:
    client.register(STAMP, functions={"now": lambda data, event: datetime.datetime(2026, 1, 1)})
    client.start("stamp", "s-1")
    state = client.send("s-1", "go", idempotency_key="k")
    assert (state.state, state.rev) == ("going", 2)  # what was committed, not the chain's end
    client.engine.flush()  # the chained event is written after its origin was answered
    assert client.get("s-1").state == "going"
    (letter,) = client.dead_letters("s-1")
    assert letter.payload["event"]["name"] == "stamp"
    assert client.send("s-1", "go", idempotency_key="k").state == "going"  # the same answer
    assert client.store.integrity_check() == []
