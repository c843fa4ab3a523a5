"""The synchronous in-memory machine."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..core.commands import RunEffect, StartInvoke
from ..core.compile import CompiledChart
from ..core.errors import EventNotAccepted, MachineFinished
from ..core.events import Event
from ..core.migration import Migration
from ..core.result import StepResult
from ..core.snapshot import Snapshot
from ._base import BaseMachine
from ._effect_retry import on_failure, retry_later
from ._memo import Outcome
from ._snapshots import routed
from ._step import flat_send

__all__ = ["Machine"]


class Machine(BaseMachine):
    """One instance of a chart, in memory, driven by the pure step.

    Events are processed one at a time, to completion.  :meth:`send` raises
    :class:`~statekeeper.EventNotAccepted` when no transition accepts the event (unless the
    state marks it ``ignore``); events the chart sends itself, timers and child machines
    deliver are processed leniently, as SCXML discards unmatched events.  Effects run inline
    after each step and their outcome is fed back as ``done.effect.<name>`` or
    ``error.effect.<name>``; an effect that declares a ``retry`` policy is tried again on the
    machine's clock after each backoff before the error is fed back.

    Example:
        >>> from statekeeper import Chart, State, Machine
        >>> door = Machine(Chart("door", states={
        ...     "closed": State(on={"open": "opened"}),
        ...     "opened": State(on={"close": "closed"}),
        ... }))
        >>> door.send("open").configuration
        ('opened',)

    """

    __slots__ = ()

    def send(self, event: str | Event, data: Any = None) -> Outcome:
        """Process ``event`` (a name, or an :class:`~statekeeper.Event`) and what it causes.

        Raises:
            ReservedEventName: the name starts with ``statekeeper.`` (timers use it).
            InvalidPayload: ``data`` holds a value JSON cannot hold exactly (its path says
                where); LimitExceeded: it is deeper or larger than the machine's limits.
            EventNotAccepted: nothing in the configuration accepts the event; nothing changed.
            MachineFinished: the machine already reached a top-level final state.

        """
        if self._x is None and event.__class__ is str:
            if data is None:
                entry = self._cfg.on.get(event)
                if entry is not None:
                    self._cfg = entry[0]
                    return entry[1]
            stepped = flat_send(self, event, data)
            if stepped is not None:
                result, outcome = stepped
                if result is None or (not result.commands and not self._cfg.done):
                    return outcome
                return self._carry_out(result, outcome)
        ev = self._incoming(event, data)
        x = self._x
        if x is None:
            # nothing is waiting: what _run does first, without its frame (sends are hot)
            result, outcome = self._step(ev, True)
            if result is None or (not result.commands and not self._cfg.done):
                return outcome
            return self._carry_out(result, outcome)
        if x.busy:
            x.queue.append(ev)
            return Outcome(ev.name, "queued", self._cfg.ids)
        return self._run(ev, strict=True)

    @classmethod
    def from_snapshot(cls, chart: CompiledChart, snapshot: Snapshot | dict[str, Any], *,
                      migrations: Iterable[Migration] | None = None,
                      versions: Iterable[CompiledChart] = (), **kwargs: Any) -> Machine:
        """Continue an instance from a snapshot (or its ``to_dict()``), restoring its timers.

        A snapshot of another version of the chart is routed through ``migrations`` when
        they are given, with the compiled charts of the versions on the way in ``versions``
        (see :func:`~statekeeper.core.upgrade.upgrade_snapshot`).

        Raises:
            SnapshotError: the data is not a valid snapshot.
            SnapshotMismatch: it was taken from another chart or version (no migrations given).
            NoMigrationPath: migrations given, but none leads here (the message says why).

        """
        snap = snapshot if isinstance(snapshot, Snapshot) else Snapshot.from_dict(snapshot)
        snap = routed(chart, snap, migrations, versions, kwargs.get("clock"))
        machine = cls(chart, _snapshot=snap, **kwargs)
        machine._restore_timers(snap)
        return machine

    def _started(self, effects: list[RunEffect]) -> None:
        x = self._extras()
        x.busy = True
        try:
            self._effects(effects)
        finally:
            x.busy = False
        self._drain()
        self._release()

    def _deliver(self, event: Event) -> None:
        x = self._extras()
        x.queue.append(event)
        if not x.busy:
            self._drain()
            self._release()

    def _run(self, event: Event, strict: bool) -> Outcome:
        if self._x is None:
            # Nothing is waiting (no listener, queue, child or timer handle): the pure step
            # runs alone, and the machine's extras are made only if its result needs them.
            result, outcome = self._step(event, strict)
            if result is None or (not result.commands and not self._cfg.done):
                return outcome
            return self._carry_out(result, outcome)
        x = self._extras()
        x.busy = True
        try:
            result, outcome = self._step(event, strict)
            if result is not None:
                self._effects(self._after_step(result))
        except (EventNotAccepted, MachineFinished):
            x.busy = False
            self._release()  # nothing changed: keep the fast path open
            raise
        finally:
            x.busy = False
        self._drain()
        self._release()
        return outcome

    def _carry_out(self, result: StepResult, outcome: Outcome) -> Outcome:
        """Carry out a step's commands when nothing was waiting (the extras made now)."""
        x = self._extras()
        x.busy = True
        try:
            self._effects(self._after_step(result))
        finally:
            x.busy = False
        self._drain()
        self._release()
        return outcome

    def _drain(self) -> None:
        x = self._extras()
        while x.queue and not x.busy:
            event = x.queue.popleft()
            x.busy = True
            try:
                result, _ = self._step(event, strict=False)
                if result is not None:
                    self._effects(self._after_step(result))
            finally:
                x.busy = False

    def _effects(self, effects: list[RunEffect]) -> None:
        for effect in effects:
            event = self._attempt(effect, 1, [])
            if event is not None:
                self._extras().queue.append(event)

    def _attempt(self, effect: RunEffect, attempt: int, errors: list[str]) -> Event | None:
        """Run one attempt; ``None`` when a retry was scheduled on the clock instead."""
        fn = self._env.effects[effect.name]
        try:
            value = fn(effect.args, key=effect.key)
        except Exception as exc:  # noqa: BLE001 - the policy and the chart decide
            failure = on_failure(self, effect, attempt, exc, errors)
            if failure.delay is not None:
                retry_later(self, effect, failure.delay,
                            lambda: self._retry(effect, attempt + 1, failure.errors))
            return failure.event
        return Event(f"done.effect.{effect.name}", value)

    def _retry(self, effect: RunEffect, attempt: int, errors: list[str]) -> None:
        event = self._attempt(effect, attempt, errors)
        if event is not None:
            self._deliver(event)

    def _start_task(self, command: StartInvoke) -> None:
        fn = self._env.tasks.get(command.src or "")
        invokeid = command.invokeid
        if fn is None:
            self._deliver(Event("error.execution",
                                {"error": f"no task {command.src!r} provided"}, "platform"))
            return
        try:
            value = fn(command.params)
        except Exception as exc:  # noqa: BLE001 - reported to the chart as an event
            self._deliver(Event(f"error.invoke.{invokeid}", {"error": str(exc)}, "external",
                                invokeid=invokeid))
            return
        self._deliver(Event(f"done.invoke.{invokeid}", value, "external", invokeid=invokeid))
