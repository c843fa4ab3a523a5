"""A guard that fails every time it is evaluated must not keep a step running forever.

Issue 17: an instance started with data of the wrong type (a string where the chart declares an
integer) made an eventless guard raise.  SCXML turns the failure into ``false`` plus an
``error.execution`` event; the macrostep consumed that event (nothing handled it), looked at the
eventless transitions again, the guard failed again and raised a new event, forever: no
microstep was ever taken, so the microstep bound never triggered.

The guards below count their evaluations and stop the test with :class:`Runaway` (not an
``Exception``, so the step cannot turn it into ``error.execution``) long before "forever": a
regression fails here instead of hanging the suite.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from statekeeper import (
    Chart,
    ExecutionError,
    Machine,
    Snapshot,
    State,
    Transition,
    compile_chart,
)
from statekeeper.core import initial_step, step
from statekeeper.core.step import MAX_MICROSTEPS

#: evaluations after which a guard gives up: far more than a terminating step needs
BUDGET = 20 * MAX_MICROSTEPS


class Runaway(BaseException):
    """The step evaluated a guard more often than any terminating step would."""


def counting(guard: Any) -> tuple[Any, list[int]]:
    calls = [0]

    def counted(data: Mapping[str, Any], event: Any) -> bool:
        calls[0] += 1
        if calls[0] > BUDGET:
            raise Runaway(f"the guard ran {BUDGET} times in one step: the step does not end")
        return bool(guard(data, event))

    return counted, calls


def chart_with(on_error: bool) -> Chart:
    idle_on: dict[str, Any] = {"go": "idle"}
    if on_error:
        idle_on["error.execution"] = "broken"
    return Chart("counter", data={"count": 0}, states={
        "idle": State(always=[Transition("busy", cond="many")], on=idle_on),
        "busy": State(on={"go": "idle"}),
        "broken": State(on={"go": "idle"}),
    })


def test_a_start_whose_eventless_guard_always_fails_ends_with_a_named_error() -> None:
    many, calls = counting(lambda data, event: data["count"] > 3)
    chart = compile_chart(chart_with(on_error=False), guards={"many": many}, checks="ignore")
    with pytest.raises(ExecutionError, match="many") as caught:
        Machine(chart, data={"count": "three"})
    assert "TypeError" in str(caught.value)  # the guard's own failure, so the user sees why
    assert calls[0] <= MAX_MICROSTEPS + 1


def test_the_pure_initial_step_ends_too() -> None:
    many, _ = counting(lambda data, event: data["count"] > 3)
    chart = compile_chart(chart_with(on_error=False), guards={"many": many}, checks="ignore")
    with pytest.raises(ExecutionError):
        initial_step(chart, data={"count": "three"})


def test_a_step_whose_eventless_guard_starts_failing_ends_and_loses_nothing() -> None:
    # the data goes bad through the event's payload: the step raises, the snapshot given stays
    many, _ = counting(lambda data, event: data["count"] > 3)
    chart = compile_chart(Chart("counter", data={"count": 0}, states={
        "idle": State(always=[Transition("busy", cond="many")], on={"set": Transition(
            None, actions=[])}),
        "busy": State(),
    }), guards={"many": many}, checks="ignore")
    start = initial_step(chart)
    assert start.snapshot.configuration == ("idle",)
    bad = {**start.snapshot.to_dict(), "data": {"count": "three"}}
    snapshot = Snapshot.from_dict(bad)
    with pytest.raises(ExecutionError):
        step(chart, snapshot, "set")
    assert snapshot.data == {"count": "three"}


def test_a_chart_that_handles_the_error_leaves_after_one_failure() -> None:
    # SCXML: the failing guard is false and raises error.execution once; a chart that takes a
    # transition on it settles, with one evaluation, as before
    many, calls = counting(lambda data, event: data["count"] > 3)
    chart = compile_chart(chart_with(on_error=True), guards={"many": many}, checks="ignore")
    machine = Machine(chart, data={"count": "three"})
    assert machine.configuration == ("broken",)
    assert calls[0] == 1


def test_good_data_still_takes_the_guarded_transition() -> None:
    many, _ = counting(lambda data, event: data["count"] > 3)
    chart = compile_chart(chart_with(on_error=False), guards={"many": many}, checks="ignore")
    assert Machine(chart, data={"count": 5}).configuration == ("busy",)
    assert Machine(chart, data={"count": 1}).configuration == ("idle",)
