"""The durable runtime through the public client, on every store, with a virtual clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from statekeeper import (
    Chart,
    Effect,
    EventNotAccepted,
    Final,
    MachineFinished,
    State,
    Transition,
    VirtualClock,
)
from statekeeper.client import Client
from statekeeper.runtime.registry import UnknownChart
from statekeeper.storage.base import InstanceExists, UnknownInstance

ORDER = Chart("order", version=1, initial="placed", states={
    "placed": State(on={"submit": "offered"}),
    "offered": State(on={"accept": "accepted", "reject": "cancelled"}, after={"5m": "cancelled"}),
    "accepted": State(
        entry=[Effect("charge", args={"amount": 42})],
        on={"done.effect.charge": "paid", "error.effect.charge": "payment_failed"},
    ),
    "paid": Final(),
    "payment_failed": Final(),
    "cancelled": Final(),
})


class Payments:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.keys: list[str] = []

    def charge(self, args: dict[str, Any], key: str) -> dict[str, Any]:
        self.keys.append(key)
        if self.fail:
            raise ConnectionError("card API down")
        return {"charged": args["amount"]}


def register(client: Client, payments: Payments | None = None) -> None:
    client.register(ORDER, effects={"charge": (payments or Payments()).charge})


def test_start_send_get_history(client: Client) -> None:
    register(client)
    started = client.start("order", "o-1", data={"total": 42}, labels={"city": "Oslo"})
    assert started.configuration == ("placed",) and started.rev == 1
    settled = client.send("o-1", "submit", actor="alice")
    assert settled.state == "offered" and settled.outcome == "applied"
    assert client.get("o-1").state == "offered"
    rows = client.history("o-1")
    assert [(r.seq, r.event, r.outcome) for r in rows] == [
        (1, "statekeeper.start", "applied"), (2, "submit", "applied")]
    assert rows[1].source == ("placed",) and rows[1].target == ("offered",)
    assert rows[1].actor == "alice"


def test_rejected_event_is_logged_and_changes_nothing(client: Client) -> None:
    register(client)
    client.start("order", "o-1")
    with pytest.raises(EventNotAccepted):
        client.send("o-1", "accept")
    assert client.get("o-1").state == "placed"
    last = client.history("o-1")[-1]
    assert (last.event, last.outcome, last.target) == ("accept", "rejected", ("placed",))


def test_idempotency_key_returns_the_first_result(client: Client) -> None:
    register(client)
    client.start("order", "o-1")
    first = client.send("o-1", "submit", idempotency_key="req-7")
    again = client.send("o-1", "submit", idempotency_key="req-7")
    assert again.outcome == "duplicate"
    assert again.configuration == first.configuration and again.rev == first.rev
    assert len(client.history("o-1")) == 2


def test_errors_a_caller_can_act_on(client: Client) -> None:
    register(client)
    client.start("order", "o-1")
    with pytest.raises(InstanceExists):
        client.start("order", "o-1")
    with pytest.raises(UnknownInstance):
        client.send("nope", "submit")
    with pytest.raises(UnknownInstance):
        client.get("nope")
    with pytest.raises(UnknownChart):
        client.start("invoice", "i-1")
    with pytest.raises(ValueError, match="may send"):
        client.send("o-1", "statekeeper.after.offered.0")
    with pytest.raises(ValueError, match="may send"):
        client.send("o-1", "")
    with pytest.raises(TypeError, match="name"):
        client.send("o-1", 42)  # type: ignore[arg-type]
    assert [r.event for r in client.history("o-1")] == ["statekeeper.start"]  # nothing recorded


def test_effect_runs_after_commit_and_its_outcome_is_an_event(client: Client) -> None:
    payments = Payments()
    register(client, payments)
    client.start("order", "o-1")
    client.send("o-1", "submit")
    assert client.send("o-1", "accept").state == "accepted"
    assert payments.keys == [], "no effect runs before the worker picks it up"
    client.worker.run_until_idle()
    assert client.get("o-1").state == "paid"
    assert payments.keys == ["o-1:1:charge"]


def test_failed_effect_lets_the_chart_decide(client: Client) -> None:
    register(client, Payments(fail=True))
    client.start("order", "o-1")
    client.send("o-1", "submit")
    client.send("o-1", "accept")
    client.worker.run_until_idle()
    state = client.get("o-1")
    assert state.state == "payment_failed" and state.done
    with pytest.raises(MachineFinished):
        client.send("o-1", "submit")


def test_after_timer_fires_and_a_cancelled_one_never_does(client: Client,
                                                          clock: VirtualClock) -> None:
    register(client)
    client.start("order", "late")
    client.start("order", "answered")
    client.send("late", "submit")
    client.send("answered", "submit")
    client.send("answered", "reject")
    clock.advance(299)
    client.worker.run_until_idle()
    assert client.get("late").state == "offered"
    clock.advance(1)
    client.worker.run_until_idle()
    assert client.get("late").state == "cancelled"
    assert [r.event for r in client.history("answered")][-1] == "reject"


def test_query_by_state_and_labels(client: Client) -> None:
    register(client)
    for n, city in enumerate(["Oslo", "Rome", "Oslo"]):
        client.start("order", f"o-{n}", labels={"city": city})
    client.send("o-0", "submit")
    assert [s.id for s in client.query(state="offered")] == ["o-0"]
    assert [s.id for s in client.query(labels={"city": "Oslo"})] == ["o-0", "o-2"]
    assert [s.id for s in client.query(chart="order", state="placed")] == ["o-1", "o-2"]


def test_state_survives_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'orders.db'}"
    clock = VirtualClock(1_000_000.0)
    with Client(url, clock=clock, worker=False) as first:
        register(first)
        first.start("order", "o-1")
        first.send("o-1", "submit")
    clock.advance(3600)  # downtime: the 5 minute timer is overdue
    with Client(url, clock=clock, worker=False) as second:
        register(second)
        assert second.get("o-1").state == "offered"
        second.worker.run_until_idle()
        assert second.get("o-1").state == "cancelled"
        fired = second.history("o-1")[-1]
        assert fired.reason is not None and "late" in fired.reason


def test_transition_with_guard_and_data(client: Client) -> None:
    chart = Chart("counter", initial="counting", data={"n": 0}, states={
        "counting": State(on={"inc": Transition(cond="below_limit", actions=[]),
                              "stop": "stopped"}),
        "stopped": Final(),
    })
    client.register(chart, guards={"below_limit": lambda data, event: data["n"] < 3})
    client.start("counter", "c-1")
    assert client.send("c-1", "inc").outcome == "applied"


def test_history_after_a_seq_reads_only_the_newer_rows(tmp_path: Path) -> None:
    from statekeeper import Chart, State

    toggle = Chart("toggle", version=1, initial="off", states={
        "off": State(on={"flip": "on"}), "on": State(on={"flip": "off"})})
    with Client(f"sqlite:///{tmp_path / 'h.db'}", worker=False) as client:
        client.register(toggle)
        client.start("toggle", "t-1")
        seen = client.send("t-1", "flip").rev
        client.send("t-1", "flip")
        client.send("t-1", "flip")
        newer = client.history("t-1", after=seen)
        assert [(t.seq, t.target) for t in newer] == [(3, ("off",)), (4, ("on",))]
