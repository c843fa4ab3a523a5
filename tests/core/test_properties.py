"""Properties of the pure step and the machines over random charts and event sequences.

The charts come from :func:`statekeeper.testing.strategies.charts`.  The reference for every
comparison is :class:`PureDriver`: a fold of the pure ``step`` over the sequence that carries
out the commands the way an in-memory machine does (timers on a virtual clock, events a chart
sends itself queued and processed leniently after the current one).

Runs derandomized with no example database, so CI sees the same examples every time.  Set
``STATEKEEPER_PROPERTY_EXAMPLES=2000 STATEKEEPER_PROPERTY_RANDOM=1`` to hunt for new bugs.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import os
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import event as note_event
from hypothesis import strategies as st

from statekeeper import (
    AsyncMachine,
    Chart,
    Event,
    EventNotAccepted,
    Machine,
    MachineFinished,
    Send,
    Snapshot,
    State,
    StepResult,
    Transition,
    VirtualClock,
    compile_chart,
    initial_step,
    step,
)
from statekeeper.core import CancelTimer, SendEvent, StartTimer
from statekeeper.core.compile import CompiledChart
from statekeeper.core.nodes import FINAL, HISTORY, PARALLEL, ROOT_ID
from statekeeper.machine import Outcome
from statekeeper.testing.strategies import (
    Advance,
    GeneratedChart,
    Step,
    charts,
    event_sequences,
)

SESSION = "prop"
RUNAWAY = 2_000  # steps one item of a sequence may cause; more means the generator is wrong
EXAMPLES = int(os.environ.get("STATEKEEPER_PROPERTY_EXAMPLES", "100"))
PROPERTY = settings(
    max_examples=EXAMPLES,
    derandomize=os.environ.get("STATEKEEPER_PROPERTY_RANDOM") != "1",
    database=None,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),  # no explain: no files
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
Case = tuple[GeneratedChart, list[Step]]


def cases(**options: Any) -> st.SearchStrategy[Case]:
    return charts(**options).flatmap(lambda g: st.tuples(st.just(g), event_sequences(g)))


# --------------------------------------------------------------------------- reference driver


@dataclass
class Record:
    """What one item of a sequence did: its status, the snapshot after it, every step taken."""

    item: Step
    status: str  # applied, ignored, rejected, finished (events) or advanced (time)
    snapshot: Snapshot
    results: list[StepResult] = field(default_factory=list)

    def key(self) -> tuple[Any, ...]:
        return (self.item, self.status, self.snapshot.to_dict(), self.results)


class PureDriver:
    """Fold the pure step over a sequence, carrying out its commands like a Machine."""

    def __init__(self, chart: CompiledChart) -> None:
        self.chart = chart
        self.now = 0.0
        self.seq = itertools.count()
        self.timers: dict[str, tuple[float, int, Event]] = {}
        self.queue: deque[Event] = deque()
        self.results: list[StepResult] = []
        self.snapshot: Snapshot

    @classmethod
    def start(cls, chart: CompiledChart) -> tuple[PureDriver, StepResult]:
        driver = cls(chart)
        first = initial_step(chart, now=0.0, session=SESSION)
        driver.snapshot = first.snapshot
        driver.carry_out(first)
        driver.drain()
        return driver, first

    def fork(self, snapshot: Snapshot) -> PureDriver:
        """A driver in this one's state (clock, pending timers) but at ``snapshot``."""
        other = type(self)(self.chart)
        other.now, other.snapshot = self.now, snapshot
        other.timers = dict(self.timers)
        other.seq = itertools.count(next(copy.copy(self.seq)))
        return other

    def step(self, snapshot: Snapshot, event: Event | str, timer: str | None = None) -> StepResult:
        return step(self.chart, snapshot, event, now=self.now, timer=timer)

    def run(self, item: Step) -> Record:
        self.results = []
        if isinstance(item, Advance):
            self.advance(item.seconds)
            return Record(item, "advanced", self.snapshot, self.results)
        if self.snapshot.done:
            return Record(item, "finished", self.snapshot, self.results)
        result = self.step(self.snapshot, item)
        self.results.append(result)
        if result.status == "rejected":
            return Record(item, "rejected", self.snapshot, self.results)
        self.snapshot = result.snapshot
        self.carry_out(result)
        self.drain()
        return Record(item, result.status, self.snapshot, self.results)

    def carry_out(self, result: StepResult) -> None:
        for command in result.commands:
            if isinstance(command, StartTimer):
                assert command.target is None
                self.timers[command.timer_id] = (command.due, next(self.seq), command.event)
            elif isinstance(command, CancelTimer):
                self.timers.pop(command.timer_id, None)
            elif isinstance(command, SendEvent):
                assert command.target is None
                self.queue.append(command.event)
            else:
                raise AssertionError(f"unexpected command {command!r}")
        if self.snapshot.done:  # a finished machine drops its timers and queue
            self.timers.clear()
            self.queue.clear()

    def deliver(self, event: Event, timer: str | None = None) -> None:
        """An event from the chart itself: processed leniently (SCXML drops unmatched ones)."""
        assert len(self.results) < RUNAWAY, "runaway chart: the generator must bound its events"
        if self.snapshot.done:
            return
        result = self.step(self.snapshot, event, timer)
        self.results.append(result)
        self.snapshot = result.snapshot  # when rejected: the input, less a fired timer
        if result.status != "rejected":
            self.carry_out(result)

    def drain(self) -> None:
        while self.queue:
            self.deliver(self.queue.popleft())

    def advance(self, seconds: float) -> None:
        end = self.now + seconds
        while True:
            due = [(when, seq, timer_id) for timer_id, (when, seq, _) in self.timers.items()
                   if when <= end]
            if not due:
                break
            when, _, timer_id = min(due)
            event = self.timers.pop(timer_id)[2]
            self.now = max(self.now, when)
            self.deliver(event, timer_id)
            self.drain()
        self.now = end


@dataclass
class PureRun:
    first: StepResult  # the initial step
    start: Snapshot  # after the initial step and the events it sent itself
    records: list[Record]


def run_pure(chart: CompiledChart, items: list[Step],
             driver_type: type[PureDriver] = PureDriver) -> PureRun:
    driver, first = driver_type.start(chart)
    start = driver.snapshot
    return PureRun(first, start, [driver.run(item) for item in items])


# --------------------------------------------------------------------------- machine drivers


@dataclass
class MachineRecord:
    item: Step
    status: str
    snapshot: dict[str, Any]
    outcome: Outcome | None = None


def machine_run(machine: Machine, clock: VirtualClock, item: Step) -> MachineRecord:
    if isinstance(item, Advance):
        clock.advance(item.seconds)
        return MachineRecord(item, "advanced", machine.snapshot.to_dict())
    try:
        outcome = machine.send(item)
    except EventNotAccepted:
        return MachineRecord(item, "rejected", machine.snapshot.to_dict())
    except MachineFinished:
        return MachineRecord(item, "finished", machine.snapshot.to_dict())
    return MachineRecord(item, outcome.status, machine.snapshot.to_dict(), outcome)


async def async_machine_run(machine: AsyncMachine, clock: VirtualClock, item: Step) -> MachineRecord:
    if isinstance(item, Advance):
        clock.advance(item.seconds)
        return MachineRecord(item, "advanced", machine.snapshot.to_dict())
    try:
        outcome = await machine.send(item)
    except EventNotAccepted:
        return MachineRecord(item, "rejected", machine.snapshot.to_dict())
    except MachineFinished:
        return MachineRecord(item, "finished", machine.snapshot.to_dict())
    return MachineRecord(item, outcome.status, machine.snapshot.to_dict(), outcome)


def run_machine(chart: CompiledChart, items: list[Step]) -> list[MachineRecord]:
    clock = VirtualClock()
    machine = Machine(chart, session=SESSION, clock=clock)
    records = [MachineRecord("(start)", "applied", machine.snapshot.to_dict())]
    records += [machine_run(machine, clock, item) for item in items]
    machine.close()
    return records


async def _run_async(chart: CompiledChart, items: list[Step]) -> list[MachineRecord]:
    clock = VirtualClock()
    machine = AsyncMachine(chart, session=SESSION, clock=clock)
    records = [MachineRecord("(start)", "applied", machine.snapshot.to_dict())]
    records += [await async_machine_run(machine, clock, item) for item in items]
    machine.close()
    return records


def run_async_machine(chart: CompiledChart, items: list[Step]) -> list[MachineRecord]:
    return asyncio.run(_run_async(chart, items))


# --------------------------------------------------------------------------- legality


def assert_legal(chart: CompiledChart, configuration: tuple[str, ...], done: bool | None) -> None:
    """SCXML 3.11: a legal configuration, as the step reports it (document order).

    ``done`` (unless ``None``) must say whether a top-level final state is active.
    """
    assert configuration, "empty configuration"
    assert len(set(configuration)) == len(configuration), f"duplicates in {configuration}"
    nodes = [chart.nodes[state] for state in configuration]
    assert configuration == tuple(n.id for n in sorted(nodes)), "not in document order"
    active = set(nodes)
    assert sum(c in active for c in chart.root.children) == 1, (
        f"not exactly one top-level state active: {configuration}")
    for node in nodes:
        assert node.kind != HISTORY, f"history pseudo-state {node.id} is active"
        assert node.parent is not None
        assert node.parent.id == ROOT_ID or node.parent in active, (
            f"{node.id} is active but its parent {node.parent.id} is not: {configuration}")
        children = [c for c in node.children if c in active]
        if node.kind == PARALLEL:
            assert len(children) == len(node.children), (
                f"parallel {node.id} has inactive regions: {configuration}")
        elif node.children:
            assert len(children) == 1, f"compound {node.id} has {len(children)} active children"
        else:
            assert not children
    top_final = any(n.kind == FINAL and n.parent is chart.root for n in nodes)
    assert done is None or done == top_final, f"done={done} but configuration is {configuration}"


def assert_result_legal(chart: CompiledChart, result: StepResult) -> None:
    for micro in result.microsteps:
        assert_legal(chart, micro.configuration, None)
    assert_legal(chart, result.snapshot.configuration, result.snapshot.done)
    if result.microsteps:
        assert result.microsteps[-1].configuration == result.snapshot.configuration


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


# --------------------------------------------------------------------------- regressions


TIMER_CHART = Chart("timer", states={
    "idle": State(on={
        "go": Transition(None, actions=[Send(event="ping", delay=5)]),
        "go_named": Transition(None, actions=[Send(event="ping", delay=5, id="t")]),
        "ping": "pinged",
        "away": "elsewhere",
    }),
    "elsewhere": State(on={"back": "idle"}),  # does not accept ping
    "pinged": State(on={"ping": "twice"}),
    "twice": State(on={"reset": "idle"}),
})


def test_a_fired_anonymous_timer_leaves_the_snapshot() -> None:
    # The timer of a <send> without id stayed in snapshot.timers after it fired (its event
    # carries no sendid), so a machine restored from the snapshot fired it again.
    chart = compile_chart(TIMER_CHART, checks="ignore")
    clock = VirtualClock()
    machine = Machine(chart, session=SESSION, clock=clock)
    machine.send("go")
    clock.advance(5)
    assert machine.configuration == ("pinged",)
    restored = Machine.from_snapshot(chart, machine.snapshot.to_dict(), clock=clock)
    clock.advance(1)
    assert restored.configuration == ("pinged",), "the restored machine fired the timer again"
    assert machine.snapshot.timers == {}


@pytest.mark.parametrize("send", ["go", "go_named"])
def test_a_rejected_timer_event_leaves_the_machine_snapshot(send: str) -> None:
    # Found by test_machine_fast_path_agrees_with_the_pure_step: the pure step drops a fired
    # timer even when its event is then rejected; the machine kept it in its snapshot, so a
    # restore fired it a second time.
    chart = compile_chart(TIMER_CHART, checks="ignore")
    clock = VirtualClock()
    machine = Machine(chart, session=SESSION, clock=clock)
    machine.send(send)
    machine.send("away")
    clock.advance(5)  # ping, rejected in "elsewhere"
    assert machine.configuration == ("elsewhere",)
    assert machine.snapshot.timers == {}
    restored = Machine.from_snapshot(chart, machine.snapshot.to_dict(), clock=clock)
    restored.send("back")
    clock.advance(10)
    assert restored.configuration == ("idle",)


def test_restarting_a_named_timer_replaces_the_pending_one() -> None:
    # A second <send id="t"> before the first fired: the snapshot keeps one timer, due at the
    # later time; the machine fired at the first due time (and never at the second).
    chart = compile_chart(TIMER_CHART, checks="ignore")
    clock = VirtualClock()
    machine = Machine(chart, session=SESSION, clock=clock)
    machine.send("go_named")
    clock.advance(3)
    machine.send("go_named")
    assert machine.snapshot.timers["t"]["due"] == 8.0
    clock.advance(2.5)
    assert machine.configuration == ("idle",)
    clock.advance(2.5)
    assert machine.configuration == ("pinged",)
    clock.advance(10)
    assert machine.configuration == ("pinged",)


@pytest.mark.parametrize("data", [{"k": 1}, [1, 2]])
def test_sending_an_event_object_with_data_uses_the_normal_path(data: Any) -> None:
    chart = compile_chart(Chart("flip", states={
        "a": State(on={"go": "b"}),
        "b": State(on={"go": "a"}),
    }))
    machine = Machine(chart)
    machine.send("go")
    machine.send("go")  # memoised now
    assert machine.send(Event("go", data)).configuration == ("b",)

    async def run() -> tuple[str, ...]:
        other = AsyncMachine(chart)
        return (await other.send(Event("go", data))).configuration

    assert asyncio.run(run()) == ("b",)
