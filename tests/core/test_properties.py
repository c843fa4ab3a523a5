"""Properties of the pure step and the machines over random charts and event sequences.

The charts come from :func:`statekeeper.testing.strategies.charts`.  The reference for every
comparison is :class:`PureDriver`: a fold of the pure ``step`` over the sequence that carries
out the commands the way an in-memory machine does (timers on a virtual clock, events a chart
sends itself queued and processed leniently after the current one).

Runs derandomized with no example database, so CI sees the same examples every time.  Set
``STATEKEEPER_PROPERTY_EXAMPLES=2000 STATEKEEPER_PROPERTY_RANDOM=1`` to hunt for new bugs.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace

import pytest
from hypothesis import event as note_event
from hypothesis import given
from hypothesis import strategies as st
from property_drivers import (
    MachineRecord,
    assert_legal,
    assert_result_legal,
    machine_run,
    run_async_machine,
    run_machine,
)

from statekeeper import (
    Chart,
    Event,
    Machine,
    Snapshot,
    State,
    StepResult,
    VirtualClock,
    compile_chart,
    initial_step,
    step,
)
from statekeeper.core.compile import CompiledChart
from statekeeper.testing.reference import SESSION, PureDriver, PureRun, run_pure
from statekeeper.testing.strategies import (
    INITIAL_DATA,
    Advance,
    GeneratedChart,
    Step,
    chart_runs,
    suite_settings,
)

PROPERTY = suite_settings()
Case = tuple[GeneratedChart, list[Step]]


cases = chart_runs


# --------------------------------------------------------------------------- properties


@PROPERTY
@given(cases())
def test_every_configuration_is_legal(case: Case) -> None:
    generated, items = case
    chart = generated.compile()
    run = run_pure(chart, items)
    assert_result_legal(chart, run.first)
    previous = run.start
    for record in run.records:
        for result in record.results:
            assert_result_legal(chart, result)
        assert_legal(chart, record.snapshot.configuration, record.snapshot.done)
        note_event(f"status: {record.status}")
        if record.status in ("rejected", "finished"):
            assert record.snapshot == previous
        previous = record.snapshot


class CheckingDeterminism(PureDriver):
    def step(self, snapshot: Snapshot, event: Event | str, timer: str | None = None) -> StepResult:
        once = super().step(snapshot, event, timer)
        again = super().step(snapshot, event, timer)
        assert once == again
        return once


@PROPERTY
@given(cases())
def test_step_is_deterministic(case: Case) -> None:
    generated, items = case
    run = run_pure(generated.compile(), items, CheckingDeterminism)
    # A second compilation (fresh caches and memo) computes exactly the same run.
    again = run_pure(generated.compile(), items)
    assert run.first == again.first
    assert [r.key() for r in run.records] == [r.key() for r in again.records]


@PROPERTY
@given(cases())
def test_snapshot_round_trip_continues_identically(case: Case) -> None:
    generated, items = case
    chart = generated.compile()
    driver, _ = PureDriver.start(chart)
    records = []
    forks = []
    for item in items:
        raw = json.loads(json.dumps(driver.snapshot.to_dict()))
        restored = Snapshot.from_dict(raw)
        assert restored == driver.snapshot
        forks.append(driver.fork(restored))
        records.append(driver.run(item))
    for start, fork in enumerate(forks):
        continued = [fork.run(item) for item in items[start:]]
        assert [r.key() for r in continued] == [r.key() for r in records[start:]]


def _compare(reference: list[MachineRecord], other: list[MachineRecord]) -> None:
    assert len(reference) == len(other)
    for ref, got in zip(reference, other, strict=True):
        assert (got.item, got.status) == (ref.item, ref.status)
        assert got.snapshot == ref.snapshot, f"after {got.item!r}"


@PROPERTY
@given(cases())
def test_machine_and_async_machine_agree(case: Case) -> None:
    generated, items = case
    chart = generated.compile()
    sync = run_machine(chart, items)
    _compare(sync, run_async_machine(chart, items))
    # Now with the memo warm on both sides.
    _compare(sync, run_async_machine(chart, items))
    _compare(sync, run_machine(chart, items))


def _assert_machine_follows_pure(chart: CompiledChart, items: list[Step], run: PureRun) -> int:
    """Run a Machine over ``items`` and compare it with the pure fold; return memo hits."""
    clock = VirtualClock()
    machine = Machine(chart, session=SESSION, clock=clock)
    assert machine.snapshot == run.start
    hits = 0
    for item, record in zip(items, run.records, strict=True):
        memo = None
        if isinstance(item, str) and machine._x is None:  # the fast path may answer
            memo = machine._cfg.on.get(item)
        got = machine_run(machine, clock, item)
        assert got.status == record.status, f"{item!r}: machine {got.status}, pure {record.status}"
        assert got.snapshot == record.snapshot.to_dict(), f"after {item!r}"
        if got.outcome is not None:
            own = record.results[0]
            if memo is not None:
                hits += 1
                assert got.outcome is memo[1]
            assert got.outcome.status == own.status
            assert got.outcome.configuration == own.snapshot.configuration
            assert got.outcome.microsteps == own.microsteps
            assert got.outcome.done == own.snapshot.done
    machine.close()
    return hits


@PROPERTY
@given(cases())
def test_machine_fast_path_agrees_with_the_pure_step(case: Case) -> None:
    generated, items = case
    chart = generated.compile()
    run = run_pure(chart, items)
    _assert_machine_follows_pure(chart, items, run)  # fills the memo
    hits = _assert_machine_follows_pure(chart, items, run)  # answers from it
    note_event(f"memo hits: {min(hits, 3)}{'+' if hits >= 3 else ''}")


@PROPERTY
@given(cases(payloads=True, style="guarded"))
def test_machines_running_flat_programs_agree_with_the_pure_step(case: Case) -> None:
    # guards over data and payloads (some raising), blocks of assigns (some raising), flat
    # data: most sends run a flat program (core/_flat.py), in both twins
    generated, items = case
    flat = {key: value for key, value in INITIAL_DATA.items() if key != "box"}
    generated = replace(generated, chart=replace(generated.chart, data=flat))
    chart = generated.compile()
    run = run_pure(chart, items)
    _assert_machine_follows_pure(chart, items, run)
    _assert_machine_follows_pure(chart, items, run)  # every program found made
    _compare(run_machine(chart, items), run_async_machine(chart, items))


class CheckingPurity(PureDriver):
    def step(self, snapshot: Snapshot, event: Event | str, timer: str | None = None) -> StepResult:
        before = copy.deepcopy(snapshot)
        result = super().step(snapshot, event, timer)
        assert snapshot == before, "step mutated its input snapshot"
        assert snapshot.to_dict() == before.to_dict()
        return result


@PROPERTY
@given(cases())
def test_step_never_mutates_its_input(case: Case) -> None:
    generated, items = case
    chart = generated.compile()
    given_data = {"box": {"v": 7}, "n": 1}
    kept_data = copy.deepcopy(given_data)
    first = initial_step(chart, session=SESSION, data=given_data)
    assert given_data == kept_data, "initial_step mutated the data it was given"
    if not first.snapshot.done:
        for name in (*generated.events, "r.1"):
            step(chart, first.snapshot, name)
        assert given_data == kept_data, "step mutated the data initial_step was given"
    driver, _ = CheckingPurity.start(chart)
    seen = [(driver.snapshot, copy.deepcopy(driver.snapshot))]
    for item in items:
        driver.run(item)
        seen.append((driver.snapshot, copy.deepcopy(driver.snapshot)))
    # Nothing stepped later reached back into an earlier snapshot through shared objects.
    for snapshot, kept in seen:
        assert snapshot == kept


@PROPERTY
@given(cases(), st.data())
def test_machine_restored_from_a_snapshot_continues_identically(case: Case,
                                                                data: st.DataObject) -> None:
    # The durable-runtime scenario: save a machine's snapshot, restore it elsewhere (with its
    # timers), carry on.
    generated, items = case
    chart = generated.compile()
    split = data.draw(st.integers(0, len(items)), label="split")
    clock = VirtualClock()
    machine = Machine(chart, session=SESSION, clock=clock)
    for item in items[:split]:
        machine_run(machine, clock, item)
    saved = json.loads(json.dumps(machine.snapshot.to_dict()))
    rest = [machine_run(machine, clock, item) for item in items[split:]]
    machine.close()
    other_clock = VirtualClock(clock_time(items[:split]))
    restored = Machine.from_snapshot(chart, saved, session=SESSION, clock=other_clock)
    again = [machine_run(restored, other_clock, item) for item in items[split:]]
    restored.close()
    for ref, got in zip(rest, again, strict=True):
        assert (got.item, got.status) == (ref.item, ref.status)
        assert got.snapshot == ref.snapshot, f"after {got.item!r}"


def clock_time(items: list[Step]) -> float:
    return sum(item.seconds for item in items if isinstance(item, Advance))


# --------------------------------------------------------------------------- not vacuous


def test_the_fast_path_is_exercised() -> None:
    # Also a regression test: after a rejected send the machine kept an empty _Extras and so
    # took the slow path for the next send.
    chart = compile_chart(Chart("static", states={
        "a": State(on={"go": "b"}),
        "b": State(on={"go": "a"}),
    }))
    items: list[Step] = ["go", "go", "stop", "go"]
    run = run_pure(chart, items)
    _assert_machine_follows_pure(chart, items, run)
    assert _assert_machine_follows_pure(chart, items, run) == 3


def test_empty_action_blocks_keep_steps_static() -> None:
    # State(entry=[]) normalises to one empty block; running it marked every step entering the
    # state as dynamic, which silently turned off the machine's fast path for such charts.
    chart = compile_chart(Chart("empty", states={
        "a": State(on={"go": "b"}, entry=[], exit=[[]]),
        "b": State(on={"go": "a"}, entry=[]),
    }))
    initial = initial_step(chart)
    assert initial.static
    assert step(chart, initial.snapshot, "go").static
    items: list[Step] = ["go", "go", "go"]
    run = run_pure(chart, items)
    _assert_machine_follows_pure(chart, items, run)
    assert _assert_machine_follows_pure(chart, items, run) == 3


def test_the_legality_check_catches_an_illegal_configuration() -> None:
    chart = compile_chart(Chart("legal", states={
        "p": State(kind="parallel", states={
            "r1": State(states={"x": State(), "y": State()}),
            "r2": State(),
        }),
    }), checks="ignore")
    assert_legal(chart, ("p", "r1", "x", "r2"), False)
    for bad in [("p", "r1", "x"), ("p", "r1", "x", "y", "r2"), ("r1", "x"), ("p", "r2", "r1", "x")]:
        with pytest.raises(AssertionError):
            assert_legal(chart, bad, False)
