"""Flat programs (core/_flat.py): which events get one, and what a failing one hands over.

The property tests in ``test_quick.py`` compare flat programs with the reference step on
generated charts; these are the cases worth naming: a guard or an assign that raises (the
step goes on in a working state from exactly that point, ``error.execution`` handled by the
chart), a container assigned mid-step, ``In()`` answered per configuration, and the charts
and events that get no program (the general quick step runs them).
"""

from __future__ import annotations

from typing import Any

import pytest

from statekeeper import (
    Assign,
    Chart,
    Event,
    Machine,
    Parallel,
    Raise,
    State,
    Transition,
    compile_chart,
    initial_step,
    step,
)
from statekeeper.core._flat import FlatProgram, flat_program
from statekeeper.core.compile import CompiledChart
from statekeeper.testing.reference import SESSION

GUARDS: dict[str, Any] = {
    "boom": lambda data, event: 1 // 0,
    "big": lambda data, event: event.data["amount"] > 5,
    "odd": lambda data, event: data["n"] % 2,  # an int: its truth is taken
}
FUNCTIONS: dict[str, Any] = {
    "n+1": lambda data, event: data["n"] + 1,
    "errors+1": lambda data, event: data["errors"] + 1,
    "fail": lambda data, event: data["missing"],
    "pair": lambda data, event: [data["n"], data["n"]],
    "kind": lambda data, event: type(data).__name__,
}


def _compile(chart: Chart) -> CompiledChart:
    return compile_chart(chart, guards=GUARDS, functions=FUNCTIONS, checks="ignore")


def _follows_the_reference(chart: Chart, sends: list[tuple[str, Any]],
                           rounds: int = 2) -> Machine:
    """Send ``sends`` to a machine and to the reference step (no plans) side by side.

    In ``rounds`` rounds: the second time round, every program is found made.
    """
    reference = _compile(chart)
    reference.plans = None
    machine = Machine(_compile(chart), session=SESSION)
    snapshot = initial_step(reference, session=SESSION).snapshot
    for _ in range(rounds):
        for name, payload in sends:
            result = step(reference, snapshot, Event(name, payload))
            outcome = machine.send(name, payload)
            snapshot = result.snapshot
            assert outcome.configuration == snapshot.configuration, (name, payload)
            assert outcome.microsteps == result.microsteps, (name, payload)
            assert dict(machine.data) == snapshot.data, (name, payload)
    return machine


def _programs(machine: Machine) -> dict[tuple[tuple[str, ...], str], FlatProgram | None]:
    plans = machine.chart.plans
    assert plans is not None
    return {(tuple(sorted(n.id for n in key)), name): program
            for (key, name), program in plans.flat.items()}


def test_a_guard_that_raises_is_false_and_its_error_is_handled_after_the_microstep() -> None:
    chart = Chart("g", data={"n": 0, "errors": 0}, states={
        "a": State(on={"go": [Transition("x", cond="boom"),
                              Transition("b", cond="big", actions=[Assign("n", expr="n+1")])],
                       "error.execution": Transition(actions=[Assign("errors", expr="n+1")])}),
        "b": State(on={"back": "a", "error.execution": "x"}),
        "x": State(on={"back": "a"}),
    })
    machine = _follows_the_reference(chart, [
        ("go", {"amount": 9}),  # boom fails, big holds: b, then error.execution in b: x
        ("back", None),
        ("go", {"amount": 1}),  # boom fails, big does not hold: error.execution in a
        ("go", {"amount": 1}),
    ])
    assert machine.configuration == ("a",)
    assert _programs(machine)[(("a",), "go")] is not None


def test_a_guard_declared_on_a_parallel_state_raises_once_per_region() -> None:
    # both regions' active states have the parallel state's transitions as their candidates:
    # one program, whose guards are tried once, but whose errors count once per region
    chart = Chart("p", data={"n": 0, "errors": 0}, states={
        "p": Parallel(states={
            "r1": State(initial="a", states={"a": State()}),
            "r2": State(initial="b", states={"b": State()}),
        }, on={"go": [Transition("q", cond="boom"),
                      Transition("q", cond="big", actions=[Assign("n", expr="n+1")])],
               "error.execution": Transition(actions=[Assign("errors", expr="errors+1")])}),
        "q": State(on={"back": "p"}),
    })
    machine = _follows_the_reference(chart, [
        ("go", {"amount": 9}),  # boom fails (twice), big holds: q, where errors are dropped
        ("back", None),
        ("go", {"amount": 1}),  # boom fails twice, big does not hold: two errors in p
    ])
    assert dict(machine.data) == {"n": 2, "errors": 4}
    program = _programs(machine)[(("a", "b", "p", "r1", "r2"), "go")]
    assert program is not None and program.repeat == 2


def test_an_assign_that_raises_cuts_its_block_short_and_the_next_blocks_run() -> None:
    chart = Chart("a", data={"n": 0, "m": 0}, states={
        "a": State(on={"go": Transition("b", actions=[Assign("n", expr="n+1"),
                                                      Assign("m", expr="fail"),
                                                      Assign("n", value=9)])},
                   exit=[Assign("m", value=1)]),
        "b": State(entry=[Assign("n", expr="n+1")], on={"back": "a",
                                                        "error.execution": "c"}),
        "c": State(on={"back": "a"}),
    })
    machine = _follows_the_reference(chart, [("go", None), ("back", None)])  # a, b, c, a
    assert machine.configuration == ("a",)
    assert dict(machine.data) == {"n": 4, "m": 1}  # the 9 never assigned


def test_a_container_assigned_mid_step_shows_later_functions_a_read_only_view() -> None:
    chart = Chart("c", data={"n": 1, "items": None, "seen": ""}, states={
        "a": State(on={"go": Transition("b", actions=[Assign("items", expr="pair"),
                                                      Assign("seen", expr="kind")])}),
        "b": State(on={"go": Transition("a", actions=[Assign("items", value=None),
                                                      Assign("seen", expr="kind")])}),
    })
    machine = _follows_the_reference(chart, [("go", None), ("go", None)])
    machine.send("go")
    assert dict(machine.data) == {"n": 1, "items": [1, 1], "seen": "DataView"}
    machine.send("go")
    assert dict(machine.data) == {"n": 1, "items": None, "seen": "mappingproxy"}


def test_in_is_answered_per_configuration_and_guards_may_return_any_value() -> None:
    chart = Chart("i", data={"n": 0}, states={
        "p": State(initial="a", states={
            "a": State(on={"go": "b"}),
            "b": State(on={"go": "a"}),
        }, on={"hop": [Transition("q", cond="In(a)", actions=[Assign("n", expr="n+1")]),
                       Transition("q", cond="odd"), Transition("q", cond="!In(b)")]}),
        "q": State(on={"back": "p"}),
    })
    machine = _follows_the_reference(chart, [
        ("hop", None), ("back", None), ("go", None), ("hop", None), ("back", None),
        ("go", None), ("go", None), ("hop", None), ("back", None),
    ])
    assert machine.configuration == ("p", "a")
    programs = _programs(machine)
    in_a, in_b = programs[(("a", "p"), "hop")], programs[(("b", "p"), "hop")]
    assert in_a is not None and in_b is not None
    # in a, In(a) holds: taken unguarded; in b, only the "odd" guard is left to try
    assert [o.guard for o in in_a.options] == [None]
    assert [o.guard for o in in_b.options] == [GUARDS["odd"]]


@pytest.mark.parametrize(("chart", "why"), [
    (Chart("r", states={"a": State(on={"go": Transition("b", actions=[Raise("r")])}),
                        "b": State()}), "a raise"),
    (Chart("e", data={"n": 0}, states={
        "a": State(on={"go": "b"}),
        "b": State(transitions=[Transition("a", cond="odd")]),
    }), "an eventless transition in the chart"),
    (Chart("f", states={"a": State(on={"go": "done"}), "done": State(kind="final")}),
     "entering a final state"),
    (Chart("n", data={"box": {"v": 0}}, states={
        "a": State(on={"go": Transition("b", actions=[Assign("box.v", value=1)])}),
        "b": State()}), "a nested location"),
    (Chart("p", states={"p": Parallel(states={
        "r1": State(initial="x", states={"x": State(on={"go": "y"}), "y": State()}),
        "r2": State(initial="u", states={"u": State(on={"go": "v"}), "v": State()}),
    })}), "candidates in two active states"),
])
def test_these_events_get_no_program_and_still_follow_the_reference(chart: Chart,
                                                                     why: str) -> None:
    compiled = _compile(chart)
    plans = compiled.plans
    assert plans is not None
    key = plans.key_of_ids(initial_step(compiled).snapshot.configuration)
    assert key is not None
    assert flat_program(compiled, plans, key, "go") is None, why
    machine = _follows_the_reference(chart, [("go", None)], rounds=1)
    assert machine.configuration != initial_step(compiled).snapshot.configuration


def test_an_option_s_outcome_is_made_once_and_shared_by_machines() -> None:
    chart = _compile(Chart("s", data={"n": 0}, states={
        "a": State(on={"go": Transition("b", actions=[Assign("n", expr="n+1")])}),
        "b": State(on={"go": Transition("a", actions=[Assign("n", expr="n+1")])}),
    }))
    first, second = Machine(chart), Machine(chart)
    for machine in (first, second):
        machine.send("go")  # the first step of each is a general quick step
    outcomes = [first.send("go"), second.send("go")]
    assert outcomes[0] is outcomes[1]  # the same option, the same (immutable) outcome
    assert (first.data["n"], second.data["n"]) == (2, 2)
