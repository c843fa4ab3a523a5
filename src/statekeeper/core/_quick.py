"""A step from a planned configuration and plain data, for drivers that keep nothing else.

:func:`statekeeper.core.step.step` takes a :class:`~statekeeper.core.snapshot.Snapshot` and
returns a :class:`~statekeeper.core.result.StepResult` with the next one.  For an instance that
holds nothing but its configuration and its data (no recorded history, pending timer, running
invocation or send counter: most instances, most of the time) both records are work nobody
needs: the in-memory machine keeps the configuration and the data, not a snapshot.  So
:func:`quick_step` starts from the plans' key of the configuration and the data, and returns a
:class:`Quick` (status, next key and ids, next data, microsteps) when the step left the instance
as simple as it found it.  When it did not (it produced commands, recorded history, started a
timer, reached a final state...), it returns the full ``StepResult``, as ``step`` would: the
work done is never repeated, only reported the long way.

The working state of a step (:class:`~statekeeper.core._run.Run`) is reused: a quick step that
ends simple gives its ``Run`` back to the chart's plans (a few of them, taken and given back
atomically, so threads and re-entrant steps each get their own), emptied of everything the
step left in it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ._context import SHOWN_AS_IS
from ._flat import UNMADE, FlatFailure, program_of
from ._plans import Key, Plan
from ._records import positional_constructor
from ._run import Run
from .commands import Microstep
from .compile import CompiledChart
from .events import Event
from .result import Status, StepResult
from .views import _PLAIN

__all__ = ["Quick", "quick_step", "resume", "unhandled"]

#: how many finished working states a chart keeps for reuse
SPARE_RUNS = 4


@dataclass(slots=True)
class Quick:
    """What a step did that changed only the configuration and the data.

    ``status`` is as in :class:`~statekeeper.core.result.StepResult`; ``data`` is the data given
    (the same object) unless the step applied; ``static`` says whether the outcome depended on
    the configuration and the event name only; ``flat`` whether ``data`` holds only scalars.
    """

    status: Status
    key: Key
    ids: tuple[str, ...]
    data: dict[str, Any]
    microsteps: tuple[Microstep, ...]
    static: bool
    #: ``data`` holds only scalars (a caller may say so to the next quick step)
    flat: bool


# one made per step: stored field by field, without an __init__ frame
_new_quick = positional_constructor(Quick)


def unhandled(run: Run, event: Event) -> Status:
    """The status of ``event`` when nothing took it: ``ignored`` if a state ignores it."""
    chart = run.chart
    ignorable = chart.index.ignoring and any(
        n.ignores(event.name) for s in run.config for n in (s, *s.ancestors))
    return "ignored" if ignorable else "rejected"


def quick_step(chart: CompiledChart, key: Key, ids: tuple[str, ...], data: dict[str, Any],
               event: Event, *, now: float, session: str, flat: bool = False,
               counter: int = 0, timers: Mapping[str, Any] | None = None) -> Quick | StepResult:
    """Process ``event`` from the configuration ``ids`` with ``data``; nothing else is held.

    ``flat`` says ``data`` holds only scalars (as the previous quick step's ``Quick.flat``
    said): its read-only view is then made at once, without looking at the values, and an
    event that only runs guards and assigns there runs its flat program
    (:mod:`statekeeper.core._flat`).

    ``counter`` is the instance's send counter (the durable runtime's instances keep one once
    they ran an effect); a step that draws from it (a send, an effect) gives the full result.

    ``timers`` are the instance's pending timers (delayed sends), not changed either: a step
    that sets or cancels one gives the full result (its snapshot holds the timers after it);
    one that does neither leaves them as they were.  ``event`` must not be the delivery of
    one of them (the reference step drops a timer that fires: the caller takes that step).

    The caller vouches that the instance has no recorded history, invocations or parent and
    is not finished, and that ``key`` is the plans' key of ``ids``;
    the result equals what :func:`~statekeeper.core.step.step` returns for the snapshot made
    of them (``tests/core/test_quick.py``).  ``data`` is not changed.
    """
    plans = chart.plans
    assert plans is not None
    if flat and event.data.__class__ in SHOWN_AS_IS and not event.meta:
        program = plans.flat.get((key, event.name), UNMADE)
        if program is UNMADE:
            program = program_of(chart, plans, key, event.name)
        if program is not None:
            try:
                option, mine, flat = program.run(data, event)
            except FlatFailure as failed:  # a guard or function raised: go on the long way
                return resume(chart, key, ids, failed, event, now=now, session=session,
                              counter=counter, timers=timers)
            if option is None:
                return _new_quick(program.unhandled, key, ids, data, (), program.static, True)
            return _new_quick("applied", option.key, option.ids, mine, option.microsteps,
                              option.static, flat)
    spare = plans.spare
    run = _working(chart, spare, session, now, counter)
    if timers:  # the working copy a send or cancel changes (a kept working state holds {})
        run.timers = dict(timers)
    ctx = run.ctx
    ctx.data = mine = copy.deepcopy(data) if plans.deep_data else dict(data)
    # the python datamodel reads the data through its own views: its steps say nothing flat
    deep = plans.deep_data
    ctx.view = MappingProxyType(mine) if flat and not deep else None
    ctx.event = event
    if event.data.__class__ in SHOWN_AS_IS and not event.meta:
        ctx.seen = ctx.seen_view = event  # guards and functions get it as it is
    else:
        ctx.seen = None  # its view is made on first use, again per step
    if run.key is not key:  # a kept working state holds the configuration it ended in
        run.config.clear()
        run.config.update(key)
        run.key = key
    run.sorted_ids = ids
    run.dynamic = chart.has_history
    run.failed_guard = None
    name = event.name
    chains = plans.candidates.get((key, name))
    if chains is None:
        chains = plans.chains(key, name)
    selected: Plan | None
    if len(chains) == 1:
        # one active state offers transitions (the usual case): the first whose guard holds
        # is the one selected, as run.select would find it, without the general bookkeeping
        chosen = None
        for transition in chains[0]:
            cond = transition.cond
            if cond is None:
                chosen = transition
                break
            run.dynamic = True
            try:
                held = cond(ctx)
            except Exception as exc:  # noqa: BLE001 - SCXML: a failing guard is false + error
                held = run.guard_failed(transition, exc)
            if held:
                chosen = transition
                break
        if chosen is None:
            selected = None
        else:
            enabled = (chosen,)
            found = plans.made.get((key, enabled))
            # not made yet, or made per recorded history: the plans work it out
            selected = found if found.__class__ is Plan else plans.plan(
                key, enabled, run.history)
    elif chains:
        selected = run.select(event) or None  # type: ignore[assignment]
    else:
        selected = None  # no active state offers a transition on it
    if selected is not None:
        run.run_plan(selected, name)
    elif not run.internal:
        quick = _new_quick(unhandled(run, event), key, ids, data, (), not run.dynamic,
                           flat and not deep)
        _release(run, spare)
        return quick
    return _finish(run, event, spare, deep, counter)


def _working(chart: CompiledChart, spare: list[Run], session: str, now: float,
             counter: int) -> Run:
    """A working state for a step: a kept one (its configuration kept too), or a new one."""
    try:
        run = spare.pop()  # atomic: another thread (or a step inside this one) gets another
    except IndexError:
        return Run(chart, session, now, {}, {}, {}, {}, counter, None)
    run.session = run.ctx.session = session
    run.now = now
    run.counter = counter
    return run


def _finish(run: Run, event: Event, spare: list[Run], deep: bool,
            counter: int) -> Quick | StepResult:
    """The rest of a step whose microstep was taken (or whose guards raised errors)."""
    if run.internal or run.done or run.states_to_invoke or run.chart.index.eventless:
        run.macrostep()  # otherwise it would find nothing to do
    # (timers change only with a command: a send's StartTimer, a cancel's CancelTimer)
    if run.commands or run.done or run.history or run.invokes or run.counter != counter \
            or run.key is None:
        result = run.result("applied", event)
        if not (run.done or run.history or run.invokes or run.internal
                or run.states_to_invoke):
            # only commands and a counter more (timers, effects, sends): the working state
            # is as simple as before but for what the result now holds, let go of here; its
            # snapshot holds the working state's dicts (empty or not), which a later step
            # would write into: each is replaced, never emptied
            run.commands.clear()  # (the result holds a tuple of them)
            run.timers, run.history, run.invokes = {}, {}, {}
            run.latest = run.latest_entered = None
            _release(run, spare)
        return result
    ctx = run.ctx
    mine = ctx.data
    view = ctx.view  # a proxy only while the data holds only scalars (EvalContext.data_view)
    quick = _new_quick("applied", run.key, run.sorted_ids or run.configuration(), mine,
                       tuple(run.microsteps), not run.dynamic,
                       not deep and (view.__class__ is MappingProxyType if view is not None
                                     else _PLAIN.issuperset(map(type, mine.values()))))
    _release(run, spare)  # the working state kept for the next step, with its configuration
    return quick


def resume(chart: CompiledChart, key: Key, ids: tuple[str, ...], failed: FlatFailure,
           event: Event, *, now: float, session: str, counter: int = 0,
           timers: Mapping[str, Any] | None = None) -> Quick | StepResult:
    """Go on from a flat program whose guards or functions raised, in a working state.

    The working state is set as the general quick step leaves it at the same point: the
    microstep taken (if one was), the data as the assigns left it, and one ``error.execution``
    per failure queued in order, which SCXML's macrostep then processes.
    """
    plans = chart.plans
    assert plans is not None
    option = failed.option
    run = _working(chart, plans.spare, session, now, counter)
    if timers:  # as quick_step's: the macrostep may cancel one
        run.timers = dict(timers)
    ctx = run.ctx
    ctx.data = failed.data
    ctx.view = failed.view
    ctx.event = event
    ctx.seen = ctx.seen_view = event
    after = key if option is None else option.key
    if run.key is not after:
        run.config.clear()
        run.config.update(after)
        run.key = after
    run.sorted_ids = ids if option is None else option.ids
    run.dynamic = True
    run.failed_guard = None
    run.latest = None
    for transition, exc in failed.errors:
        if transition is not None:
            run.guard_failed(transition, exc)
        else:
            run.error_execution(exc, getattr(exc, "sendid", None))
    if option is not None:
        run.latest_entered = option.entered
        run.microsteps.append(option.microsteps[0])
    return _finish(run, event, plans.spare, False, counter)


def _release(run: Run, spare: list[Run]) -> None:
    """Empty ``run`` of this step and keep it for the next one (when few are kept).

    Only what the next quick step does not set again is emptied here; what it sets (session,
    time, data, event, the sorted ids) is left until then, and the configuration stays with
    its key (``run.key``): a step from the same configuration keeps it as it is.
    """
    run.microsteps.clear()
    if run.timers:  # a copy of the pending timers given (quick_step's ``timers``)
        run.timers = {}
    ctx = run.ctx
    if ctx.system:
        ctx.system = {}  # the python datamodel's names of this session
    if len(spare) < SPARE_RUNS:
        spare.append(run)
