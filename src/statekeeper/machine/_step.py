"""One step of an in-memory machine: the pure step run for an event, its result loaded.

Bound into :class:`~statekeeper.machine._base.BaseMachine` as its ``_step`` method (kept here so
the base stays readable).  Three ways, cheapest first:

- **flat programs**: an instance holding only its configuration and flat data, given an event
  whose only work in that configuration is guards and assigns
  (:mod:`statekeeper.core._flat`), runs the program and takes its next configuration and its
  outcome from the option taken, made once per option and shared (an outcome is immutable);
  :func:`flat_send` takes a caller's ``send(name, payload)`` there directly, its intake cut to
  what the program's guards and functions read (one pass over the payload, one event);
- **quick steps** (:func:`statekeeper.core._quick.quick_step`): the same instance, any event;
- **the full step** over a snapshot, for anything else (recorded history, timers, children).
"""

from __future__ import annotations

from time import time as _time
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..clock import SystemClock
from ..core._context import SHOWN_AS_IS
from ..core._flat import UNMADE, FlatFailure, FlatOption, FlatProgram, program_of
from ..core._quick import Quick, quick_step, resume
from ..core._records import positional_constructor
from ..core.errors import EventNotAccepted, MachineFinished
from ..core.events import RESERVED_PREFIX, Event
from ..core.payload import flat_copy
from ..core.step import StepResult, step
from ._memo import Config, Outcome, intern_config, planned_key, remember

if TYPE_CHECKING:
    from ._base import BaseMachine

__all__ = ["flat_send", "machine_step", "unapplied"]

#: a configuration keeps the flat programs of at most this many event names (else: the plans')
PROGRAMS_PER_CONFIG = 64

_new_outcome = positional_constructor(Outcome)
_new_event = positional_constructor(Event)  # one per event sent


def machine_step(self: BaseMachine, event: Event,
                 strict: bool) -> tuple[StepResult | None, Outcome]:
    """Run the pure step for ``event`` and load its result; raise for rejected events."""
    cfg = self._cfg
    if self._flat and self._x is None and self._rest is None \
            and event.data.__class__ in SHOWN_AS_IS and not event.meta:
        program = cfg.programs.get(event.name, UNMADE)
        if program is UNMADE:
            program = _program(self, cfg, event.name)
        if program is not None:
            ran = flat_send(self, event.name, None, event, strict)
            if ran is not None:
                return ran  # (None: more than the configuration's 64 programs: quick step)
    try:
        key = cfg.key
        if key is False:
            key = planned_key(self.chart, cfg)
        if key is not None and self._rest is None and self._x is None and not cfg.done \
                and self.chart.plans is not None:
            # configuration and data are all there is: no snapshot in or out
            found = quick_step(self.chart, key, cfg.ids,  # type: ignore[arg-type]
                               self._data if self._data is not None else {}, event,
                               now=_now(self), session=self._session or self.session,
                               flat=self._flat)
            return _loaded(self, cfg, event, strict, found)
        result = step(self.chart, self._snap(), event, now=self._now(),
                      timer=event.meta.get("timer"))
    except MachineFinished:
        if strict:
            raise
        return None, Outcome(event.name, "ignored", self._cfg.ids, (), True)
    return _result(self, event, strict, result)


def flat_send(self: BaseMachine, name: str, payload: Any, event: Event | None = None,
              strict: bool = True) -> tuple[StepResult | None, Outcome] | None:
    """``send(name, payload)`` by the flat program met before, or ``None``: nothing done.

    Why: on a machine holding nothing but its configuration and flat data, an event with a
    program is mostly intake: the general way (``_incoming``, then :func:`machine_step`)
    checks the name and the payload, copies it, builds the event and tests again what this
    one test of the configuration's programs settles.  Here the payload is checked and
    copied in one pass (:func:`~statekeeper.core.payload.flat_copy`) and the event built
    for the guards and functions, which take it.  Whatever this pass cannot vouch for (no
    program made yet, a reserved or long name, a payload not of the common kind) answers
    ``None`` before anything changed or ran, and the caller takes the general way, which
    refuses what is invalid with its named error.  The caller vouches ``name`` is a ``str``
    and the machine has no extras.

    :func:`machine_step` runs a program through here too, giving the ``event`` it was given
    (taken as it is, ``payload`` unread) and its ``strict``: one frame less on either way.
    """
    cfg = self._cfg
    program = cfg.programs.get(name)
    if program is None or not self._flat or self._rest is not None:
        return None  # no program (or none made yet), or more than data held: the general way
    if event is None:
        limits = self._env.limits
        if name.startswith(RESERVED_PREFIX) or len(name) > limits.max_name_length:
            return None
        if payload is not None:
            if payload.__class__ is not dict:
                return None
            payload = flat_copy(payload, limits)
            if payload is None:
                return None
            payload = MappingProxyType(payload)  # shown to guards and functions as it is
        event = _new_event(name, payload, "external", None, None, None, None, {})
    data = self._data if self._data is not None else {}
    try:
        option, mine, flat = program.run(data, event)
    except FlatFailure as failed:  # a guard or function raised: the long way on
        return _loaded(self, cfg, event, strict, resume(
            self.chart, cfg.key, cfg.ids, failed, event,  # type: ignore[arg-type]
            now=_now(self), session=self._session or self.session))
    if option is None:
        return None, unapplied(self, event, program.unhandled, strict)
    taken = option.taken
    if taken is None:
        taken = _taken(self, option, name)
    self._cfg, outcome = taken
    self._data = mine or None
    self._flat = flat
    if option.static and event.data is None and event.sendid is None \
            and event.invokeid is None:
        remember(self.chart, cfg, name, taken[0], outcome)
    return None, outcome


def _now(self: BaseMachine) -> float:
    clock = self._env.clock
    return _time() if clock.__class__ is SystemClock else self._now()  # SystemClock: time.time


def _program(self: BaseMachine, cfg: Config, name: str) -> FlatProgram | None:
    """The flat program of ``name`` in ``cfg`` when this machine may run one, else ``None``.

    The caller vouches the instance holds nothing but its configuration and flat data.  The
    program is kept with the configuration: it is the configuration's and the event name's,
    whichever instance asks.
    """
    plans = self.chart.plans
    key = cfg.key
    if key is False:
        key = planned_key(self.chart, cfg)
    if key is None or plans is None or cfg.done:
        return None
    program = program_of(self.chart, plans, key, name)  # type: ignore[arg-type]
    if len(cfg.programs) < PROGRAMS_PER_CONFIG:
        cfg.programs[name] = program
    return program


def _taken(self: BaseMachine, option: FlatOption, name: str) -> tuple[Config, Outcome]:
    """The next configuration and the outcome of taking ``option``: the same every time."""
    new = self.chart.memo.get(option.ids) or intern_config(self.chart, option.ids)
    if new.key is False:
        new.key = option.key
    taken = (new, _new_outcome(name, "applied", new.ids, option.microsteps, new.done))
    option.taken = taken
    return taken


def _loaded(self: BaseMachine, cfg: Config, event: Event, strict: bool,
            found: Quick | StepResult) -> tuple[StepResult | None, Outcome]:
    """Load what a quick step returned (the short record, or a full result)."""
    if found.__class__ is not Quick:
        return _result(self, event, strict, found)  # type: ignore[arg-type]
    quick: Quick = found
    if quick.status != "applied":
        return None, unapplied(self, event, quick.status, strict)
    new = self._cfg = self.chart.memo.get(quick.ids) or intern_config(self.chart, quick.ids)
    if new.key is False:
        new.key = quick.key
    self._data = quick.data or None
    self._flat = quick.flat
    outcome = _new_outcome(event.name, "applied", new.ids, quick.microsteps, new.done)
    if quick.static and event.data is None and event.sendid is None and event.invokeid is None:
        remember(self.chart, cfg, event.name, new, outcome)
    return None, outcome


def _result(self: BaseMachine, event: Event, strict: bool,
            result: StepResult) -> tuple[StepResult | None, Outcome]:
    """Load a full step's result."""
    if result.status == "rejected":
        if strict:
            raise EventNotAccepted(event.name, self._cfg.ids)
        if event.sendid is not None or "timer" in event.meta:
            self._load(result.snapshot)  # unchanged, less the timer that just fired
        return None, Outcome(event.name, "ignored", self._cfg.ids, (), self._cfg.done)
    source = self._cfg
    self._load(result.snapshot)
    outcome = _new_outcome(event.name, result.status, self._cfg.ids, result.microsteps,
                           self._cfg.done)
    if (result.static and not result.commands and result.status == "applied"
            and event.data is None and event.sendid is None and event.invokeid is None):
        remember(self.chart, source, event.name, self._cfg, outcome)
    return result, outcome


def unapplied(self: BaseMachine, event: Event, status: str, strict: bool) -> Outcome:
    """The outcome of a quick step that took nothing: rejected (raised) or ignored."""
    if status == "rejected":
        if strict:
            raise EventNotAccepted(event.name, self._cfg.ids)
        status = "ignored"
    return _new_outcome(event.name, status, self._cfg.ids, (), False)

