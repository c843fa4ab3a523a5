"""The durable step runs a chart's flat program when the data and the payload are scalars.

``memo_step`` shows a payload of scalars to the step read-only (as the in-memory machine
does), so the guards-and-assigns events of most charts take the flat program without a
working state.  What is written stays plain: the transition row keeps the payload as a dict,
and a payload assigned whole into the data is stored as a dict, as by the general step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from statekeeper import Client, compile_chart
from statekeeper.bench.durable_chart import BINDINGS, EVENT, amount, meter_chart
from statekeeper.core.actions import Assign
from statekeeper.core.events import Event
from statekeeper.core.model import Chart, State, Transition
from statekeeper.core.step import initial_step
from statekeeper.runtime.registry import Registry
from statekeeper.runtime.requests import DeliverEvent
from statekeeper.runtime.step_memo import memo_step


def test_the_benchmark_chart_takes_its_flat_programs() -> None:
    registry = Registry()
    chart = registry.register(compile_chart(meter_chart(), guards=BINDINGS["guards"],
                                            functions=BINDINGS["functions"]),
                              effects=BINDINGS["effects"])
    entry = registry.get(chart.name, str(chart.version), chart.hash)
    snapshot = initial_step(chart, session="m1").snapshot
    for r in range(3):  # idle -> busy -> idle -> busy: guards and assigns only
        event = Event(EVENT, {"amount": amount(0, r)})
        snapshot = memo_step(entry, snapshot, event, float(r), DeliverEvent("m1", event))[0]
        assert type(snapshot.data) is dict
    assert chart.plans is not None
    assert [p for p in chart.plans.flat.values() if p is not None]  # made, so taken


def _keeps(data: Any, event: Any) -> Any:
    return event.data


def test_what_a_flat_step_writes_is_plain(tmp_path: Path) -> None:
    chart = Chart("keep", initial="a", data={"n": 0}, states={
        "a": State(on={"go": Transition("b", actions=[Assign("last", expr="keeps")])}),
        "b": State(on={"go": Transition("a", actions=[Assign("last", expr="keeps")])})})
    with Client(tmp_path / "k.db", worker=False) as client:
        client.register(chart, functions={"keeps": _keeps})
        client.start("keep", "k")
        state = client.send("k", "go", {"x": 1, "y": "z"})
        assert state.data == {"n": 0, "last": {"x": 1, "y": "z"}}
        assert type(state.data["last"]) is dict
        state = client.send("k", "go", {"x": 2})  # the data holds a dict now: not flat
        assert state.data["last"] == {"x": 2} and state.configuration == ("a",)
        rows = client.history("k")
        assert [r.data for r in rows[1:]] == [{"x": 1, "y": "z"}, {"x": 2}]
        assert all(type(r.data) is dict for r in rows[1:])
    with Client(tmp_path / "k.db", worker=False) as again:  # as stored, read back
        again.register(chart, functions={"keeps": _keeps})
        assert again.get("k").data == {"n": 0, "last": {"x": 2}}
