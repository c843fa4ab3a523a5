"""The durable step, memoised when only the configuration can change (see :func:`memo_step`).

Split from :mod:`.planner` for size: the planner calls it once per delivered event.
"""

from __future__ import annotations

from types import MappingProxyType

from ..core._quick import Quick, quick_step
from ..core._records import positional_constructor
from ..core.commands import Command, Microstep
from ..core.events import Event
from ..core.result import Status
from ..core.snapshot import Snapshot
from ..core.step import step
from ..core.views import _PLAIN
from .registry import Registered
from .requests import DeliverEvent

__all__ = ["MEMO_LIMIT", "Outcome", "memo_step"]

# every field given, without a frozen dataclass's object.__setattr__ per field (hot path)
_new_snapshot = positional_constructor(Snapshot)
# the event with its payload shown read-only, every field given (as state.with_own_data makes
# it), without dataclasses.replace's keyword call and field loop
_new_event = positional_constructor(Event)

#: per compiled chart, how many durable step outcomes are memoised at most
MEMO_LIMIT = 100_000
_MEMO = "statekeeper.runtime.memo"


#: a step's outcome as the planner uses it: the snapshot after, the status, the microsteps
#: and the commands (a tuple, not a StepResult: one fewer record per memoised step), and
#: whether the snapshot is the one before with only its configuration moved (memoised)
Outcome = tuple[Snapshot, Status, tuple[Microstep, ...], tuple[Command, ...], bool]


def memo_step(entry: Registered, snapshot: Snapshot, event: Event, now: float,
          request: DeliverEvent) -> Outcome:
    """The pure step, or its memoised outcome when only the configuration can change.

    A step the core reports as *static* (no guard, action, data, history or timer took part)
    depends on nothing but the configuration and the event name, so the next snapshot is the
    same snapshot in another configuration.  Skipping the algorithm for those is what makes a
    plain transition cheap in the engine's single writer thread; the memo is a pure function's
    cache and cannot disagree with :func:`statekeeper.core.step.step`.
    """
    memo: dict[tuple[tuple[str, ...], str], tuple[tuple[str, ...], tuple[Microstep, ...]]] | None = \
        entry.chart.memo.get(_MEMO)
    if memo is None:
        memo = entry.chart.memo.setdefault(_MEMO, {})
    key = (snapshot.configuration, event.name)
    # Not a timer firing: the reference step drops a fired timer (named by the request, or
    # by the event's send id) from the snapshot, which neither the memo nor the quick step do.
    if request.timer_id is None and (event.sendid is None or event.sendid not in snapshot.timers):
        hit = memo.get(key)
        if hit is not None:
            configuration, microsteps = hit
            moved = _new_snapshot(snapshot.chart, snapshot.version, snapshot.hash,
                                  snapshot.session, configuration, snapshot.data,
                                  snapshot.history, snapshot.timers, snapshot.invokes,
                                  snapshot.done, snapshot.done_data, snapshot.counter,
                                  snapshot.parent)
            return moved, "applied", microsteps, (), True
        quick = _quick(entry, snapshot, event, now, memo, key)
        if quick is not None:
            return quick
    # Which timer fired: a send without an id delivers an event without a sendid, so only
    # this lets the step drop it from the snapshot's pending timers.
    result = step(entry.chart, snapshot, event, now=now, timer=request.timer_id)
    after = result.snapshot
    if (result.static and result.status == "applied" and not result.commands
            and request.timer_id is None and not after.done and after.data == snapshot.data
            and after.timers == snapshot.timers and after.history == snapshot.history
            and after.counter == snapshot.counter and after.invokes == snapshot.invokes
            and len(memo) < MEMO_LIMIT):
        memo[key] = (after.configuration, result.microsteps)
    return after, result.status, result.microsteps, result.commands, False


def _quick(entry: Registered, snapshot: Snapshot, event: Event, now: float,
           memo: dict[tuple[tuple[str, ...], str], tuple[tuple[str, ...], tuple[Microstep, ...]]],
           memo_key: tuple[tuple[str, ...], str]) -> Outcome | None:
    """The step by :func:`~statekeeper.core._quick.quick_step`, when the snapshot allows it.

    An instance that holds only its configuration, its data, its send counter and its
    pending timers (no history, invocation or parent, not finished: most steps of most
    charts) needs no working copy of the rest, and the compiled plans' quick step returns no
    ``StepResult`` unless the step set or cancelled a timer (or ran an effect...); its
    outcome equals :func:`~statekeeper.core.step.step`'s (``tests/core/test_quick.py``,
    ``tests/runtime/test_durable_quick.py``).  A pending timer used to send every step of
    its instance the reference way: a state with an ``after`` left by the next event (set,
    then cancelled) is the usual timer.  ``None``: take the reference step.
    """
    chart = entry.chart
    plans = chart.plans
    timers = snapshot.timers
    if (plans is None or snapshot.history or snapshot.invokes
            or snapshot.parent is not None or snapshot.done
            or snapshot.done_data is not None or snapshot.chart != chart.name
            or snapshot.hash != chart.hash or snapshot.version != chart.version):
        return None
    configuration = snapshot.configuration
    key = plans.known(configuration) if configuration.__class__ is tuple else None
    if key is None:
        return None
    data = snapshot.data
    # Data of scalars only (and a payload of scalars, shown read-only as the in-memory
    # machine shows it): the step may run the chart's flat program for the event, guards
    # and assigns without a working state (statekeeper.core._flat), as the machine does.
    flat = data.__class__ is dict and _PLAIN.issuperset(map(type, data.values()))
    if flat and (payload := event.data).__class__ is dict and not event.meta \
            and _PLAIN.issuperset(map(type, payload.values())):
        event = _new_event(event.name, MappingProxyType(payload), event.type, event.sendid,
                           event.origin, event.origintype, event.invokeid, event.meta)
    found = quick_step(chart, key, configuration, data, event, now=now,
                       session=snapshot.session, counter=snapshot.counter, flat=flat,
                       timers=timers)
    if not isinstance(found, Quick):  # it did more than move and assign: the full result
        return found.snapshot, found.status, found.microsteps, found.commands, False
    quick = found
    if quick.status != "applied":  # only guards ran: the snapshot as it was
        return snapshot, quick.status, (), (), False
    if quick.static and quick.data == snapshot.data:  # only the configuration moved
        if len(memo) < MEMO_LIMIT:
            memo[memo_key] = (quick.ids, quick.microsteps)
        return _new_snapshot(snapshot.chart, snapshot.version, snapshot.hash, snapshot.session,
                             quick.ids, snapshot.data, snapshot.history, snapshot.timers,
                             snapshot.invokes, False, None, snapshot.counter, None), "applied", \
            quick.microsteps, (), True
    after = _new_snapshot(snapshot.chart, snapshot.version, snapshot.hash, snapshot.session,
                          quick.ids, quick.data, snapshot.history, snapshot.timers,
                          snapshot.invokes, False, None, snapshot.counter, None)
    return after, "applied", quick.microsteps, (), False
