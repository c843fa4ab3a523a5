"""A reference for the step: the pure ``step`` folded over an event sequence, by hand.

:class:`PureDriver` carries out a step's commands the way an in-memory
:class:`~statekeeper.Machine` does (timers on a virtual clock, fired in due order; events a
chart sends itself queued and processed leniently after the current one), but with nothing
but :func:`~statekeeper.step` and plain data structures.  It is the oracle of statekeeper's
property tests: machines, async machines and the durable runtime must each end every item of
a sequence where it does.  Use it the same way for code of your own that drives charts.

Example:
    >>> from statekeeper import Chart, State, compile_chart
    >>> from statekeeper.testing.reference import Advance, run_pure
    >>> lamp = compile_chart(Chart("lamp", states={
    ...     "off": State(on={"flip": "on"}), "on": State(after={"5s": "off"})}))
    >>> [r.snapshot.configuration for r in run_pure(lamp, ["flip", Advance(6)]).records]
    [('on',), ('off',)]

"""

from __future__ import annotations

import copy
import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ..core.commands import CancelTimer, SendEvent, StartTimer
from ..core.compile import CompiledChart
from ..core.events import Event
from ..core.snapshot import Snapshot
from ..core.step import StepResult, initial_step, step

__all__ = ["RUNAWAY", "SESSION", "Advance", "PureDriver", "PureRun", "Record", "Step", "run_pure"]

#: the session id (``_sessionid``) of the instance a driver runs
SESSION = "prop"
#: steps one item of a sequence may cause at most; more means a chart that never settles
RUNAWAY = 2_000


@dataclass(frozen=True, slots=True)
class Advance:
    """An item of an event sequence: let ``seconds`` of (virtual) time pass."""

    seconds: float


#: One item of an event sequence: an external event (a name, or one with a payload), or time
#: passing.
Step = str | Event | Advance


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
        if not isinstance(chart, CompiledChart):
            raise TypeError(f"a PureDriver runs a CompiledChart (see compile_chart), not "
                            f"{type(chart).__name__}")
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
