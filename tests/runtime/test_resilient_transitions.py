"""Resilient transitions: work whose success decides whether the transition happens.

The instance stays in its source state while the work is retried under its policy; on success
the target is entered with the result; on exhaustion nothing changes and the error event says
why.  Durable (memory and SQLite stores) and checked at compile time.
"""

from __future__ import annotations

from typing import Any

import pytest
from policy_charts import Downstream

from statekeeper import Call, Chart, ChartError, Effect, Final, State, Transition, VirtualClock
from statekeeper.client import Client
from statekeeper.core.compile import compile_chart
from statekeeper.io.dictform import chart_from_yaml, chart_to_yaml
from statekeeper.resilience import Retry

CHARGE = Effect("charge", args={"amount": 42}, retry=Retry(3, base_delay=1.0, jitter="none"))
CART = Chart("cart", version=1, initial="cart", data={"receipt": None}, states={
    "cart": State(on={"pay": Transition("paid", work=CHARGE, actions=[Call("keep_receipt")]),
                      "cancel": "cancelled"}),
    "paid": Final(),
    "cancelled": Final(),
})


def keep_receipt(data: dict[str, Any], event: Any) -> dict[str, Any]:
    return {**data, "receipt": event.data}


def test_the_target_is_entered_only_when_the_work_succeeds(client: Client,
                                                            clock: VirtualClock) -> None:
    api = Downstream(failures=2)
    client.register(CART, effects={"charge": api.charge}, functions={"keep_receipt": keep_receipt})
    client.start("cart", "c-1")
    assert client.send("c-1", "pay").state == "cart", "the work runs; the state waits for it"
    for _ in range(2):
        client.worker.run_until_idle()
        assert client.get("c-1").state == "cart" and client.get("c-1").data["receipt"] is None
        clock.advance(10.0)
    client.worker.run_until_idle()
    state = client.get("c-1")
    assert state.state == "paid" and state.data["receipt"] == {"charged": 42}
    assert [r.event for r in client.history("c-1") if r.source != r.target] == [
        "statekeeper.start", "done.effect.charge"]


def test_exhausted_work_leaves_state_and_data_as_they_were(client: Client,
                                                           clock: VirtualClock) -> None:
    api = Downstream(failures=99)
    client.register(CART, effects={"charge": api.charge}, functions={"keep_receipt": keep_receipt})
    client.start("cart", "c-1", data={"receipt": "none yet"})
    before = client.get("c-1")
    client.send("c-1", "pay")
    for _ in range(3):
        client.worker.run_until_idle()
        clock.advance(10.0)
    after = client.get("c-1")
    assert (after.state, after.data) == (before.state, before.data)
    [error] = [r for r in client.history("c-1") if r.event == "error.effect.charge"]
    assert error.outcome == "ignored" and error.data["attempts"] == 3
    assert error.data["reason"] == "exhausted" and len(error.data["errors"]) == 3
    assert client.send("c-1", "cancel").state == "cancelled", "the instance is still usable"


def test_a_result_arriving_after_the_instance_moved_on_changes_nothing(
        client: Client) -> None:
    api = Downstream()
    client.register(CART, effects={"charge": api.charge}, functions={"keep_receipt": keep_receipt})
    client.start("cart", "c-1")
    client.send("c-1", "pay")
    client.send("c-1", "cancel")
    client.worker.run_until_idle()
    assert client.get("c-1").state == "cancelled"


@pytest.mark.parametrize(("transition", "message"), [
    (Transition("paid", event=None, work=CHARGE), "needs an event"),
    (Transition(None, event="pay", work=CHARGE), "needs a target"),
])
def test_work_is_checked_at_compile_time(transition: Transition, message: str) -> None:
    chart = Chart("bad", initial="a", states={
        "a": State(transitions=[transition], on={"go": "paid"}), "paid": Final()})
    with pytest.raises(ChartError, match=message) as caught:
        compile_chart(chart)
    assert "'a'" in str(caught.value) or "a:" in str(caught.value)


def test_two_transitions_with_the_same_work_are_refused() -> None:
    chart = Chart("bad", initial="a", states={
        "a": State(on={"x": Transition("b", work=CHARGE), "y": Transition("b", work=CHARGE)}),
        "b": Final()})
    with pytest.raises(ChartError, match="two transitions carry work 'charge'"):
        compile_chart(chart)


def test_work_must_be_an_effect() -> None:
    with pytest.raises(ChartError, match="work must be an Effect"):
        Transition("b", work="charge")  # type: ignore[arg-type]


def test_work_round_trips_through_yaml() -> None:
    text = chart_to_yaml(CART)
    again = chart_from_yaml(text)
    assert "work:" in text and chart_to_yaml(again) == text
    fns = {"keep_receipt": keep_receipt}
    assert compile_chart(again, functions=fns).effect_policies == \
        compile_chart(CART, functions=fns).effect_policies
