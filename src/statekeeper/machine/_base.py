"""What :class:`Machine` and :class:`AsyncMachine` share: every decision, none of the waiting.

The two differ only in how effects and task invocations are awaited; stepping, routing of
events, timers and child machines is written once here.
"""

from __future__ import annotations

import copy
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any, Unpack

from ..clock import Clock
from ..core._records import positional_constructor
from ..core.commands import (
    RunEffect,
    StartInvoke,
    StartTimer,
)
from ..core.compile import CompiledChart, compile_chart
from ..core.errors import LimitExceeded, UnboundName
from ..core.events import RESERVED_PREFIX, Event, as_event, refuse_reserved
from ..core.limits import Limits
from ..core.model import SCXML_INVOKE_TYPES, Chart
from ..core.payload import check_payload, checked_copy
from ..core.snapshot import Snapshot
from ..core.step import StepResult, initial_step
from ..core.views import DataView
from ._commands import CommandRunner
from ._env import (
    _DEFAULT_ENV,
    InvokeLoader,
    Listener,
    MachineOptions,
    _Env,
    _Extras,
)
from ._invokes import declared_params, load_child
from ._memo import Config, Outcome, intern_config
from ._snapshots import copied
from ._step import machine_step

__all__ = ["BaseMachine", "InvokeLoader", "Listener", "MachineOptions"]

_log = logging.getLogger("statekeeper")
_INIT = "__initial__"
# every event sent and every step makes these records: built without the frozen __init__
_new_event = positional_constructor(Event)
_new_snapshot = positional_constructor(Snapshot)
_new_outcome = positional_constructor(Outcome)


class BaseMachine(CommandRunner):
    """An instance of a compiled chart held in memory; see :class:`Machine`."""

    __slots__ = ("_cfg", "_data", "_flat", "_session", "chart")
    _step = machine_step  # run the pure step for an event and load its result (._step)
    _cfg: Config
    _data: dict[str, Any] | None
    _flat: bool  # _data holds only scalars, as the quick step that made it said
    _env: _Env
    _rest: Snapshot | None
    _session: str | None
    _x: _Extras | None
    chart: CompiledChart

    def __init__(self, chart: CompiledChart | Chart, **options: Unpack[MachineOptions]) -> None:
        if not options and chart.__class__ is CompiledChart:
            cached = chart.memo.get(_INIT)
            if cached is not None and not chart.effects:
                # The common case, kept to a few assignments: a new instance of a chart whose
                # initial configuration is already known.
                self.chart = chart  # type: ignore[assignment,unused-ignore]
                self._cfg = cached
                self._env = _DEFAULT_ENV
                self._session = self._x = self._rest = self._data = None
                self._flat = False
                return
        self._setup(chart, **options)

    def _setup(
        self,
        chart: CompiledChart | Chart,
        *,
        data: Mapping[str, Any] | None = None,
        session: str | None = None,
        clock: Clock | None = None,
        effects: Mapping[str, Callable[..., Any]] | None = None,
        tasks: Mapping[str, Callable[..., Any]] | None = None,
        invoke_loader: InvokeLoader | None = None,
        listeners: Iterable[Listener] = (),
        on_log: Callable[[str | None, Any], None] | None = None,
        limits: Limits | None = None,
        _snapshot: Snapshot | None = None,
        _parent: tuple[BaseMachine, str] | None = None,
    ) -> None:
        if data is not None and not isinstance(data, Mapping):
            raise TypeError(f"data= takes a mapping (the instance's data), not {data!r}")
        if limits is not None and not isinstance(limits, Limits):
            raise TypeError(f"limits= takes a Limits, not {limits!r}")
        if isinstance(chart, Chart):
            chart = compile_chart(chart)
        elif not isinstance(chart, CompiledChart):
            raise TypeError(f"a machine runs a Chart or CompiledChart, not {type(chart).__name__}")
        self.chart = chart
        if clock is None and effects is None and tasks is None and invoke_loader is None \
                and on_log is None and limits is None:
            self._env = _DEFAULT_ENV  # the common case: share one, keep creation cheap
        else:
            self._env = _Env(clock, effects, tasks, invoke_loader, on_log, limits)
        if data:
            check_payload(dict(data), limits=self._env.limits, what="instance data")
        if chart.effects:
            missing = chart.effects - set(self._env.effects)
            if missing:
                raise UnboundName(f"effects not provided: {sorted(missing)}")
        self._session = session
        self._x = None
        self._rest = None
        self._data = None
        self._flat = False
        if _parent is not None:
            extras = self._extras()
            extras.parent, extras.invokeid = _parent
        if listeners:
            self._extras().listeners.extend(listeners)
        if _snapshot is not None:
            _snapshot.validate(chart)
            self._load(copied(_snapshot))  # the caller keeps its snapshot to change
            return
        cached = chart.memo.get(_INIT) if data is None and _parent is None else None
        if cached is not None:
            self._cfg = cached
            return
        result = initial_step(chart, now=self._now(), data=copy.deepcopy(dict(data or {})),
                              session=self.session,
                              parent=None if _parent is None else _parent[0].session)
        self._load(result.snapshot)
        if result.static and not result.commands and data is None and _parent is None:
            chart.memo[_INIT] = self._cfg
        extras = self._extras()
        extras.busy = True  # events delivered while starting (by children) wait their turn
        try:
            pending = self._after_step(result)
        finally:
            extras.busy = False
        self._started(pending)

    def _started(self, effects: list[RunEffect]) -> None:
        """Run what the initial step asked for (effects, queued events)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ views

    @property
    def configuration(self) -> tuple[str, ...]:
        """Active state ids in document order."""
        return self._cfg.ids

    @property
    def done(self) -> bool:
        """Whether a top-level final state was reached; no further event is accepted."""
        return self._cfg.done

    @property
    def data(self) -> Mapping[str, Any]:
        """The instance's data, as a read-only view (SEM-22): only steps change it.

        A ``Mapping`` whose nested lists and dicts are read-only too; it compares equal to
        the plain data, and ``data.copy()`` is a deep, writable copy.  Nothing is copied to
        read it.
        """
        return DataView(self._data if self._data is not None else {})

    @property
    def done_data(self) -> Any:
        """The donedata of the top-level final state, once :attr:`done`."""
        return None if self._rest is None else self._rest.done_data

    @property
    def session(self) -> str:
        """This instance's session id (generated on first use when not given)."""
        if self._session is None:
            self._session = uuid.uuid4().hex
        return self._session

    def is_active(self, state: str) -> bool:
        """Whether ``state`` is in the configuration (SCXML ``In()``)."""
        if state not in self.chart.nodes:
            raise KeyError(f"chart {self.chart.name!r} has no state {state!r}")
        return state in self._cfg.ids

    __contains__ = is_active

    @property
    def snapshot(self) -> Snapshot:
        """The full state as a :class:`~statekeeper.Snapshot` (``to_json()`` for JSON).

        A deep copy: changing it does not change the machine.
        """
        return copied(self._snap())

    def _snap(self) -> Snapshot:
        """The state as a snapshot sharing the machine's data, for the step (which copies)."""
        rest = self._rest
        chart = self.chart
        # the step copies what it changes and never mutates its input: nothing to copy here
        if rest is None:
            return _new_snapshot(chart.name, chart.version, chart.hash, self.session,
                                 self._cfg.ids, self._data or {}, {}, {}, {}, self._cfg.done,
                                 None, 0, None)
        return _new_snapshot(chart.name, chart.version, chart.hash, self.session,
                             self._cfg.ids, self._data or {}, dict(rest.history),
                             dict(rest.timers), dict(rest.invokes), self._cfg.done,
                             rest.done_data, rest.counter, rest.parent)

    def close(self) -> None:
        """Cancel this machine's pending timers, child machines and tasks.

        A machine you drop while it has timers keeps being called by its clock; close it (or
        keep its :attr:`snapshot` and continue later with ``from_snapshot``).
        """
        self._shutdown()
        self._release()

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(microstep)`` after every microstep this machine takes."""
        self._extras().listeners.append(listener)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.chart.name!r} {list(self._cfg.ids)}>"

    # ------------------------------------------------------------------ internals

    def _release(self) -> None:
        """Drop the extras again when nothing needs them, re-enabling the fast path."""
        x = self._x
        if x is not None and not (x.busy or x.listeners or x.queue or x.handles or x.children
                                  or x.tasks or x.waiters or x.parent is not None):
            self._x = None

    def _now(self) -> float:
        # The clock timers will be scheduled on, even before the first timer made it: a step
        # at time 0 on a wall clock would set timers due decades ago, firing at once.
        clock = self._env.clock
        if clock is None:
            clock = self._clock()
        return clock.now()

    def _load(self, snapshot: Snapshot) -> None:
        self._cfg = intern_config(self.chart, snapshot.configuration)
        self._data = snapshot.data or None
        self._flat = False
        self._session = snapshot.session or self._session
        trivial = not (snapshot.history or snapshot.timers or snapshot.invokes
                       or snapshot.counter or snapshot.done_data is not None or snapshot.parent)
        self._rest = None if trivial else snapshot

    def _restore_timers(self, snapshot: Snapshot) -> None:
        for timer_id, raw in snapshot.timers.items():
            event = Event.from_dict(raw["event"])
            self._start_timer(StartTimer(timer_id, raw["due"], event, raw.get("target")))

    def _incoming(self, event: str | Event, data: Any) -> Event:
        """A caller's event, checked as every entry checks it, its payload the machine's own.

        The one rule of both twins' ``send``: the reserved prefix refused, the name and payload
        within the machine's limits and what JSON holds, the payload's containers copied so an
        assign that keeps them does not share them with the sender.
        """
        if event.__class__ is str:
            name = event
            payload = data
        else:
            ev = as_event(event, data)
            name, payload = ev.name, ev.data
        if not name:
            as_event(name, None)  # raises the error an empty name gets
        if name.startswith(RESERVED_PREFIX):
            refuse_reserved(name)  # raises
        limits = self._env.limits
        if len(name) > limits.max_name_length:
            raise LimitExceeded("max_name_length", limits.max_name_length, "event name",
                                f"it is {len(name):,} characters")
        if payload is not None:
            # a flat payload comes back read-only (a MappingProxyType of the machine's own
            # copy): guards and functions get the event as it is, no view made per step
            payload = checked_copy(payload, limits=limits, what="event data", read_only=True)
        if event.__class__ is str:
            return _new_event(name, payload, "external", None, None, None, None, {})
        return ev if payload is ev.data else replace(ev, data=payload)

    def _after_step(self, result: StepResult) -> list[RunEffect]:
        """Notify listeners and carry out every command except effects (returned)."""
        x = self._x
        if x is not None and x.listeners:
            for micro in result.microsteps:
                for listener in list(x.listeners):
                    listener(micro)
        effects: list[RunEffect] = []
        for command in result.commands:
            if isinstance(command, RunEffect):
                effects.append(command)
            else:
                self._command(command)
        if self._cfg.done:
            self._finished()
        return effects

    def _start_invoke(self, command: StartInvoke) -> None:
        x = self._extras()
        kind = command.type
        if kind in SCXML_INVOKE_TYPES:
            try:
                child_chart = load_child(self._env, command)
            except Exception as exc:  # noqa: BLE001 - SEM-11: a failed invoke is an event
                self._deliver(Event("error.execution", {"error": f"{type(exc).__name__}: {exc}"},
                                    "platform"))
                return
            child = type(self)(
                child_chart, data=declared_params(child_chart, command.params),
                session=command.invokeid,
                clock=self._env.clock, effects=self._env.effects, tasks=self._env.tasks,
                invoke_loader=self._env.invoke_loader, on_log=self._env.on_log,
                limits=self._env.limits, _parent=(self, command.invokeid),
            )
            x.children[command.invokeid] = child
        elif kind == "task":
            self._start_task(command)
        else:
            self._deliver(Event("error.execution", {"error": f"unsupported invoke type {kind!r}"},
                                "platform"))

    def _deliver(self, event: Event) -> None:
        raise NotImplementedError
