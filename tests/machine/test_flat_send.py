"""A send by name and payload straight to a flat program (machine/_step.py, ``flat_send``).

Once a configuration's program for an event is made, ``send(name, payload)`` checks the name
and the payload in one pass and runs the program: no general intake.  Whatever that pass
cannot vouch for goes the general way, so each case here is compared with the same event
sent whole (an :class:`Event`, which always takes the general intake): the same outcome, or
the same named error with nothing changed and no guard run.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statekeeper import (
    Assign,
    AsyncMachine,
    Chart,
    Event,
    EventNotAccepted,
    Machine,
    State,
    Transition,
    compile_chart,
)
from statekeeper.core.compile import CompiledChart
from statekeeper.core.errors import InvalidPayload, LimitExceeded, ReservedEventName
from statekeeper.core.limits import Limits
from statekeeper.testing.strategies import suite_settings

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
    st.text(max_size=70), st.sampled_from(["é", "\ud800", "x" * 65]), st.just({1, 2}),
)
_keys = st.one_of(st.sampled_from(["amount", "note", "é", "\ud800", "k" * 65]),
                  st.integers(0, 2))
_payloads = st.one_of(
    _scalars,
    st.dictionaries(_keys, _scalars, max_size=18),
    st.recursive(st.dictionaries(_keys, _scalars, max_size=3),
                 lambda inner: st.one_of(st.lists(inner, max_size=3),
                                         st.dictionaries(_keys, inner, max_size=3)),
                 max_leaves=8),
)
_limits = st.builds(Limits, max_depth=st.integers(1, 3),
                    max_payload_bytes=st.sampled_from([16, 100, 4096, 4_000_000]),
                    max_name_length=st.sampled_from([3, 1_000]))


def _chart(calls: list[Any]) -> CompiledChart:
    """``add`` moves a<->b while the payload's amount is an int, keeping it; else to c."""

    def counted(data: Any, event: Any) -> bool:
        calls.append(event.data)
        return type(event.data.get("amount") if hasattr(event.data, "get") else None) is int

    def add(target: str) -> list[Transition]:
        return [Transition(target, cond="counted", actions=[
            Assign("n", expr="n+1"), Assign("last", expr="amount")]), Transition("c")]

    return compile_chart(Chart("intake", data={"n": 0, "last": None}, states={
        "a": State(on={"add": add("b")}),
        "b": State(on={"add": add("a")}),
        "c": State(on={"back": "a"}),
    }), guards={"counted": counted}, functions={
        "n+1": lambda data, event: data["n"] + 1,
        "amount": lambda data, event: event.data["amount"],
    }, checks="ignore")


def _sent(machine: Machine, *args: Any) -> tuple[Any, ...]:
    """What sending did: the outcome or the named error, and what the machine holds after."""
    try:
        outcome = machine.send(*args)
        answer: Any = (outcome.status, outcome.configuration, outcome.microsteps)
    except (InvalidPayload, LimitExceeded, ReservedEventName, EventNotAccepted) as exc:
        answer = (type(exc).__name__, str(exc))
    return answer, machine.configuration, dict(machine.data)


def _warm(chart: CompiledChart, limits: Limits) -> Machine:
    """A machine with flat data whose configuration's program for ``add`` is made."""
    machine = Machine(chart, limits=limits)
    for amount in range(1, 5):  # a, b, a, b, a: the programs of (b, add) and (a, add) made
        machine.send(Event("add", {"amount": amount}))
    assert (machine.configuration, dict(machine.data)) == (("a",), {"n": 4, "last": 4})
    if limits.max_payload_bytes >= 4096:  # (smaller limits get no read-only payloads: no program)
        assert machine.chart.memo[("a",)].programs["add"] is not None
    return machine


@suite_settings(max_examples=300)
@given(_payloads, _limits, st.sampled_from(["add", "statekeeper.add", "addition"]))
def test_a_send_by_name_does_what_the_whole_event_does(payload: Any, limits: Limits,
                                                       name: str) -> None:
    calls: list[Any] = []
    chart = _chart(calls)
    whole, by_name = _warm(chart, limits), _warm(chart, limits)
    calls.clear()
    want = _sent(whole, Event(name, payload))
    called = len(calls)
    got = _sent(by_name, name, payload)
    assert got == want
    assert len(calls) == 2 * called  # the same guards ran
    if want[0][0] in ("InvalidPayload", "LimitExceeded", "ReservedEventName"):
        assert called == 0  # refused before anything ran


@pytest.mark.parametrize("payload", [
    {"amount": float("nan")}, {1: 2}, {"amount": {1, 2}}, {"amount": "\ud800"},
    {"amount": [[[[1]]]]}])
def test_an_invalid_payload_is_refused_by_name_with_nothing_changed(payload: Any) -> None:
    calls: list[Any] = []
    machine = _warm(_chart(calls), Limits(max_depth=3))
    calls.clear()
    error = InvalidPayload if "amount" not in payload or not isinstance(
        payload["amount"], list) else LimitExceeded
    with pytest.raises(error):
        machine.send("add", payload)
    assert (machine.configuration, dict(machine.data), calls) == (("a",), {"n": 4, "last": 4}, [])


def test_a_name_too_long_for_this_machine_is_refused_though_another_made_its_program() -> None:
    chart = _chart([])
    _warm(chart, Limits())  # the programs are the chart's: this machine made them
    short = Machine(chart, limits=Limits(max_name_length=2))
    with pytest.raises(LimitExceeded, match="max_name_length"):
        short.send("add", {"amount": 1})
    assert short.configuration == ("a",)


def test_the_sender_keeps_its_dict_and_the_machine_its_copy() -> None:
    kept: list[Any] = []
    chart = compile_chart(Chart("keep", data={"got": None}, states={
        "a": State(on={"go": Transition("a", cond="keeps", actions=[
            Assign("got", expr="payload")])}),
    }), guards={"keeps": lambda data, event: kept.append(event) or True},
        functions={"payload": lambda data, event: event.data}, checks="ignore")
    machine = Machine(chart)
    machine.send("go", {"n": 1})  # the program made
    sent = {"n": 2}
    machine.send("go", sent)
    sent["n"] = 3
    assert machine.data["got"] == {"n": 2}
    assert kept[-1].data == {"n": 2} and kept[-1] == Event("go", {"n": 2})
    with pytest.raises(TypeError):
        kept[-1].data["n"] = 4  # read-only, as every flat payload is shown


def test_an_async_machine_sends_by_name_as_the_sync_one() -> None:
    stream = [("add", {"amount": i}) for i in range(5)] + [("add", {"amount": "x"}),
                                                          ("back", None), ("add", None)]

    async def run() -> list[Any]:
        machine = AsyncMachine(_chart([]))
        return [await machine.send(name, payload) for name, payload in stream]

    sync = Machine(_chart([]))
    want = [sync.send(name, payload) for name, payload in stream]
    assert asyncio.run(run()) == want
    assert want[-1].configuration == ("c",)
