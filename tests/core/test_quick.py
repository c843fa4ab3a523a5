"""The quick step (core/_quick.py) equals the reference step wherever it is used.

A machine whose instance holds nothing but its configuration and its data steps with
``quick_step``: no snapshot in, no result record out, a reused working state, one read-only
view of the data per step (a C-level proxy when the data holds only scalars).  Each of these
is checked here against ``step`` on a chart with ``plans = None`` (SCXML's algorithm run whole
on every microstep): on generated charts (guards over data and payloads, ``In()``, assigns,
raised and sent events, eventless, ``done.state`` and history transitions, timers set and
cancelled) at every step whose snapshot is simple enough (its pending timers and send counter
handed over, as the durable runtime does), and on the benchmark's data-driven charts with
their streams.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from property_drivers import machine_run

from statekeeper import (
    Assign,
    Call,
    Chart,
    Event,
    History,
    Log,
    Machine,
    Snapshot,
    State,
    StepResult,
    Transition,
    VirtualClock,
    compile_chart,
)
from statekeeper.bench.adapters.lib_statekeeper import StatekeeperAdapter
from statekeeper.bench.data_shapes import DATA_SHAPES, reference_run
from statekeeper.core._flat import FlatFailure, take
from statekeeper.core._quick import Quick, quick_step
from statekeeper.core.compile import CompiledChart
from statekeeper.core.events import as_event
from statekeeper.core.step import initial_step, step
from statekeeper.testing.reference import SESSION, PureDriver, run_pure
from statekeeper.testing.strategies import (
    INITIAL_DATA,
    GeneratedChart,
    Step,
    chart_runs,
    suite_settings,
)

PROPERTY = suite_settings()
Case = tuple[GeneratedChart, list[Step]]


def _simple(snapshot: Snapshot) -> bool:
    """Whether ``quick_step`` may be given this snapshot (what the machine checks)."""
    return not (snapshot.history or snapshot.timers or snapshot.invokes or snapshot.counter
                or snapshot.parent or snapshot.done or snapshot.done_data is not None)


def _quickable(snapshot: Snapshot, event: Event, timer: str | None) -> bool:
    """Whether ``quick_step`` may be given this snapshot with its send counter and timers.

    What the durable runtime checks (runtime/step_memo.py): pending timers and a counter are
    handed over, unless ``event`` is one of those timers firing.
    """
    return not (snapshot.history or snapshot.invokes or snapshot.parent or snapshot.done
                or snapshot.done_data is not None or timer is not None
                or (event.sendid is not None and event.sendid in snapshot.timers))


def _is_flat(data: Any) -> bool:
    return all(type(value) in (str, int, float, bool, type(None)) for value in data.values())


def _assert_quick_equals(got: Quick | StepResult, want: StepResult, given: Snapshot) -> None:
    if isinstance(got, StepResult):
        assert got == want
        return
    assert got.status == want.status
    assert got.static == want.static
    if want.status == "applied":
        assert want.commands == ()
        assert not (want.snapshot.history or want.snapshot.invokes or want.snapshot.done)
        assert (want.snapshot.timers, want.snapshot.counter) == (given.timers, given.counter)
        assert got.ids == want.snapshot.configuration
        assert got.data == want.snapshot.data
        assert got.microsteps == want.microsteps
    else:
        assert got.data is given.data  # nothing applied: the data given, as given
        assert got.ids == given.configuration


class QuickChecking(PureDriver):
    """The reference driver; each simple step is also taken quickly on a planned twin."""

    planned: CompiledChart
    quick_steps = 0
    #: quick steps with timers pending before or after them
    timer_steps = 0
    #: hand quick_step a flat payload read-only, as a machine does (see checked_copy)
    read_only_payloads = False

    def step(self, snapshot: Snapshot, event: Event | str, timer: str | None = None) -> StepResult:
        want = super().step(snapshot, event, timer)
        plans = self.planned.plans
        assert plans is not None
        key = plans.key_of_ids(snapshot.configuration)
        ev = event if isinstance(event, Event) else as_event(event, None)
        if _quickable(snapshot, ev, timer) and key is not None:
            if self.read_only_payloads and type(ev.data) is dict and _is_flat(ev.data):
                ev = replace(ev, data=MappingProxyType(dict(ev.data)))
            flat = _is_flat(snapshot.data)
            timers = dict(snapshot.timers)
            for _ in range(2):  # a fresh working state, then a reused one
                got = quick_step(self.planned, key, snapshot.configuration, snapshot.data, ev,
                                 now=self.now, session=snapshot.session, flat=flat,
                                 counter=snapshot.counter, timers=snapshot.timers)
                _assert_quick_equals(got, want, snapshot)
                assert snapshot.timers == timers  # the timers given are not changed
                if isinstance(got, Quick):  # what it says of the data it returns is true
                    assert got.flat == _is_flat(got.data)
            type(self).quick_steps += 1
            type(self).timer_steps += bool(snapshot.timers or want.snapshot.timers)
        return want


def _unplanned(generated: GeneratedChart) -> CompiledChart:
    """The chart compiled for the reference: no plans, SCXML's algorithm run whole."""
    reference = generated.compile()
    reference.plans = None
    return reference


def _drive(checking: type[QuickChecking], generated: GeneratedChart, items: list[Step]) -> None:
    """Run ``items`` through the reference driver ``checking``, which checks every step."""
    checking.planned = generated.compile()
    driver, _ = checking.start(_unplanned(generated))
    for item in items:
        driver.run(item)


def _machine_follows(generated: GeneratedChart, items: list[Step], rounds: int = 1) -> None:
    """A machine of the planned chart takes ``items`` as the reference does, step by step.

    In ``rounds`` rounds on one compiled chart: from the second on, every program and outcome
    the first made is found made.
    """
    want = run_pure(_unplanned(generated), items)
    chart = generated.compile()
    for _ in range(rounds):
        clock = VirtualClock()
        machine = Machine(chart, session=SESSION, clock=clock)
        assert machine.snapshot == want.start
        for item, record in zip(items, want.records, strict=True):
            got = machine_run(machine, clock, item)
            assert (got.status, got.snapshot) == (record.status, record.snapshot.to_dict()), item
            if got.outcome is not None:
                assert got.outcome.microsteps == record.results[0].microsteps
                assert got.outcome.configuration == record.snapshot.configuration


def _without_box(generated: GeneratedChart) -> GeneratedChart:
    """The generated data without its nested "box": flat, read through the C-level proxy."""
    flat = {key: value for key, value in INITIAL_DATA.items() if key != "box"}
    return replace(generated, chart=replace(generated.chart, data=flat))


@PROPERTY
@given(chart_runs(payloads=True))
def test_quick_steps_equal_the_reference_steps(case: Case) -> None:
    _drive(QuickChecking, *case)


@PROPERTY
@given(chart_runs(payloads=True))
def test_quick_steps_on_flat_data_equal_the_reference_steps(case: Case) -> None:
    # guards and functions read the data through the C-level proxy, until a "box.v" assign
    # fails (error.execution) or a function returns data with a container in it; the
    # reference reads it through a DataView throughout
    generated, items = case
    _drive(QuickChecking, _without_box(generated), items)


@PROPERTY
@given(chart_runs(payloads=True))
def test_a_machine_on_flat_data_follows_the_reference_step(case: Case) -> None:
    # the machine passes what the last quick step said of its data (Quick.flat) to the next
    generated, items = case
    _machine_follows(_without_box(generated), items)


class FlatCounting(QuickChecking):
    """Payloads read-only, as a machine passes them; counts the steps that ran a program."""

    read_only_payloads = True
    flat_steps = 0

    def step(self, snapshot: Snapshot, event: Event | str, timer: str | None = None) -> StepResult:
        result = super().step(snapshot, event, timer)
        plans = self.planned.plans
        assert plans is not None
        key = plans.known(snapshot.configuration)
        name = event.name if isinstance(event, Event) else event
        program = plans.flat.get((key, name)) if key is not None else None
        if program is not None and _simple(snapshot) and _is_flat(snapshot.data):
            type(self).flat_steps += 1
            ev = event if isinstance(event, Event) else as_event(event, None)
            if type(ev.data) is dict:
                ev = replace(ev, data=MappingProxyType(dict(ev.data)))
            assert _taken(program.run, snapshot.data, ev) == _taken(take, program, snapshot.data, ev)
        return result


def _taken(run: Any, *args: Any) -> Any:
    """What a flat program's run (written out, or walked by ``take``) answers, comparably."""
    try:
        option, data, flat = run(*args)
    except FlatFailure as failed:
        errors = [(t, type(e), str(e)) for t, e in failed.errors]
        return "failed", failed.option, failed.data, type(failed.view), errors
    return option, data, flat


@PROPERTY
@given(chart_runs(payloads=True, style="guarded"))
def test_flat_programs_equal_the_reference_steps(case: Case) -> None:
    # charts of guards (over data and payloads, In(), some raising, some not returning a
    # bool) and blocks of assigns (some raising, some assigning a container): most of their
    # steps on flat data run a flat program; each is compared with the reference step, with
    # the programs made by the step before and found made
    generated, items = case
    _drive(FlatCounting, _without_box(generated), items)


def test_quick_steps_with_timers_are_checked_by_the_property() -> None:
    # not vacuous: the property above hands quick_step pending timers (after, delayed sends)
    # and takes steps that set and cancel them, each compared with the reference step
    QuickChecking.timer_steps = 0
    test_quick_steps_equal_the_reference_steps()
    assert QuickChecking.timer_steps > 50


def test_flat_programs_are_run_by_the_property() -> None:
    # not vacuous: the property above runs flat programs, failing guards and functions too
    # (how many depends on the examples drawn, which derandomized Hypothesis derives from the
    # property's source: 180 of its 100 examples' steps when last changed)
    FlatCounting.flat_steps = 0
    test_flat_programs_equal_the_reference_steps()
    assert FlatCounting.flat_steps > 100


@PROPERTY
@given(chart_runs(payloads=True, style="guarded"))
def test_a_machine_running_flat_programs_follows_the_reference_step(case: Case) -> None:
    # the machine keeps each option's next configuration and outcome: twice over, so the
    # second run takes every one it took before from there
    generated, items = case
    _machine_follows(_without_box(generated), items, rounds=2)


@pytest.mark.parametrize("shape", sorted(DATA_SHAPES))
def test_the_benchmark_charts_follow_the_reference_step(shape: str) -> None:
    # flat data (scalars only): guards and functions read it through the C-level proxy
    adapter = StatekeeperAdapter()
    chart = adapter.build(shape)
    reference = adapter.build(shape)
    reference.plans = None
    machine = Machine(chart, session=SESSION)
    snapshot = initial_step(reference, session=SESSION).snapshot
    for name, payload in DATA_SHAPES[shape].stream(300):
        outcome = machine.send(name, payload)
        result = step(reference, snapshot, Event(name, payload))
        snapshot = result.snapshot
        assert outcome.configuration == snapshot.configuration
        assert outcome.microsteps == result.microsteps
        assert dict(machine.data) == snapshot.data


def _chart(**functions: Any) -> CompiledChart:
    return compile_chart(Chart("views", data={"n": 0, "items": None}, states={
        "a": State(on={"go": Transition("b", actions=[Assign("items", expr="make_list")])}),
        "b": State(entry=[Call("append_one")], on={"back": "a"}),
    }), functions=functions, checks="ignore")


def test_a_result_kept_is_not_written_by_the_next_step_of_its_working_state() -> None:
    # a quick step that leaves only commands (here a log line) returns the full result and
    # keeps its working state for the next step; that next step records history (it leaves
    # "p"): the first result's snapshot must not see it (its dicts are not shared)
    chart = compile_chart(Chart("kept", states={
        "p": State(initial="a", states={
            "a": State(on={"go": Transition("b", actions=[Log("moved", value=1)])}),
            "b": State(on={"out": "q"}),
            "h": History(),
        }),
        "q": State(on={"back": "h"}),
    }), checks="ignore")
    plans = chart.plans
    assert plans is not None
    start = initial_step(chart, session=SESSION).snapshot
    first = quick_step(chart, plans.key_of_ids(start.configuration), start.configuration,
                       dict(start.data), Event("go"), now=1.0, session=SESSION)
    assert isinstance(first, StepResult) and first.commands
    kept = first.snapshot
    assert (kept.history, kept.timers, kept.invokes) == ({}, {}, {})
    second = quick_step(chart, plans.key_of_ids(kept.configuration), kept.configuration,
                        dict(kept.data), Event("out"), now=2.0, session=SESSION)
    assert isinstance(second, StepResult) and second.snapshot.history  # "p" was left
    assert (kept.history, kept.timers, kept.invokes) == ({}, {}, {})
    assert second.snapshot == step(chart, kept, Event("out"), now=2.0).snapshot


def test_a_container_assigned_mid_step_is_read_only_to_later_functions() -> None:
    # The data starts flat (the proxy view); an assign writes a list into it; a function run
    # later in the same step must get a read-only view of that list, not the list itself.
    seen: list[Any] = []

    def append_one(data: Any, event: Any) -> None:
        seen.append(type(data).__name__)
        data["items"].append(1)

    chart = _chart(make_list=lambda data, event: [0], append_one=append_one)
    machine = Machine(chart)
    outcome = machine.send("go")
    assert outcome.configuration == ("b",)
    assert machine.data == {"n": 0, "items": [0]}, "a function wrote into the data"
    assert seen == ["DataView"]


@given(st.lists(st.one_of(st.integers(), st.text(max_size=3), st.none(), st.booleans()),
                max_size=4))
def test_flat_data_is_read_only_to_guards_and_functions(values: list[Any]) -> None:
    def writes(data: Any, event: Any) -> None:
        data["n"] = 5

    chart = compile_chart(Chart("flat", data={"n": 0, "v": None}, states={
        "a": State(on={"go": Transition("b", actions=[Assign("v", expr="values")])}),
        "b": State(entry=[Call("writes")]),
    }), functions={"values": lambda data, event: event.data["v"], "writes": writes},
        checks="ignore")
    machine = Machine(chart)
    machine.send("go", {"v": values})
    assert machine.data == {"n": 0, "v": values}


def test_a_guard_stepping_another_machine_of_the_chart_gets_its_own_working_state() -> None:
    # the working states are reused: a step inside a step (same chart) must not share one
    others: list[Machine] = []

    def nested(data: Any, event: Any) -> bool:
        if others:
            inner = others.pop()
            inner.send("go", {"n": 7})
            assert inner.data["n"] == 7
        return True

    chart = compile_chart(Chart("nest", data={"n": 0}, states={
        "a": State(on={"go": Transition("b", cond="nested", actions=[Assign("n", expr="n")])}),
        "b": State(on={"go": Transition("a", actions=[Assign("n", expr="n")])}),
    }), guards={"nested": nested}, functions={"n": lambda data, event: event.data["n"]},
        checks="ignore")
    outer, inner = Machine(chart), Machine(chart)
    others.append(inner)
    outer.send("go", {"n": 3})
    assert (outer.configuration, outer.data["n"]) == (("b",), 3)
    assert (inner.configuration, inner.data["n"]) == (("b",), 7)
    outer.send("go", {"n": 4})
    assert (outer.configuration, outer.data["n"]) == (("a",), 4)


def test_machines_of_one_chart_on_threads_each_follow_the_model() -> None:
    # the working states are shared per chart: taken and given back atomically, so threads
    # stepping machines of one compiled chart never share one
    adapter = StatekeeperAdapter()
    chart = adapter.build("guarded_flat")
    stream = DATA_SHAPES["guarded_flat"].stream(2_000)
    leaves, data = reference_run(DATA_SHAPES["guarded_flat"], stream)
    finals: list[tuple[frozenset[str], dict[str, int]]] = []

    def drive() -> None:
        machine = Machine(chart)
        for name, payload in stream:
            machine.send(name, payload)
        finals.append((adapter.leaves(machine), adapter.data(machine, list(data))))

    threads = [threading.Thread(target=drive) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert finals == [(leaves, data)] * 4


def test_a_flat_payload_is_read_only_as_the_machine_passes_it() -> None:
    # the machine hands a flat payload over as a read-only proxy of its own copy: a guard
    # that writes into it fails (false, error.execution), and the sender's dict is not shared
    def writes(data: Any, event: Any) -> bool:
        event.data["amount"] = 0
        return True

    chart = compile_chart(Chart("pay", data={"total": 0}, states={
        "a": State(on={"pay": [Transition("b", cond="writes"), Transition("c", actions=[
            Assign("total", expr="amount")])]}),
        "b": State(), "c": State(),
    }), guards={"writes": writes},
        functions={"amount": lambda data, event: event.data["amount"]}, checks="ignore")
    sent = {"amount": 5}
    machine = Machine(chart)
    machine.send("pay", sent)
    assert machine.configuration == ("c",)  # the write raised: the guard was false
    assert machine.data == {"total": 5}
    assert sent == {"amount": 5}


def test_a_python_datamodel_reads_a_flat_payload_by_attribute() -> None:
    chart = compile_chart(Chart("py", datamodel="python", data={"got": 0}, states={
        "a": State(on={"go": Transition("b", cond="_event.data.n > 1", actions=[
            Assign("got", expr="_event.data.n + _event.data['n']")])}),
        "b": State(),
    }), trusted=True, checks="ignore")
    machine = Machine(chart)
    machine.send("go", {"n": 3})
    assert (machine.configuration, machine.data["got"]) == (("b",), 6)
