"""The drivers the property tests compare: the pure step folded by hand, and the machines.

:class:`PureDriver` is the reference: a fold of the pure ``step`` over an event sequence that
carries out the commands the way an in-memory machine does (timers on a virtual clock, events a
chart sends itself queued and processed leniently after the current one).  The machine drivers
feed the same sequence to :class:`Machine` and :class:`AsyncMachine` and record the same things,
so ``test_properties.py`` can compare any two of them item by item.  The legality checks say what
every configuration of a chart must satisfy, whoever computed it.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from statekeeper import (
    AsyncMachine,
    Event,
    EventNotAccepted,
    Machine,
    MachineFinished,
    Snapshot,
    StepResult,
    VirtualClock,
    initial_step,
    step,
)
from statekeeper.core import CancelTimer, SendEvent, StartTimer
from statekeeper.core.compile import CompiledChart
from statekeeper.core.nodes import FINAL, HISTORY, PARALLEL, ROOT_ID
from statekeeper.machine import Outcome
from statekeeper.testing.strategies import (
    Advance,
    Step,
)

SESSION = "prop"
RUNAWAY = 2_000  # steps one item of a sequence may cause; more means the generator is wrong


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
