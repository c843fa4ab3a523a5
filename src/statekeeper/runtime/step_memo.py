"""The durable step, memoised when only the configuration can change (see :func:`memo_step`).

Split from :mod:`.planner` for size: the planner calls it once per delivered event.
"""

from __future__ import annotations

from ..core._records import positional_constructor
from ..core.commands import Command, Microstep
from ..core.events import Event
from ..core.result import Status
from ..core.snapshot import Snapshot
from ..core.step import step
from .registry import Registered
from .requests import DeliverEvent

__all__ = ["MEMO_LIMIT", "Outcome", "memo_step"]

# every field given, without a frozen dataclass's object.__setattr__ per field (hot path)
_new_snapshot = positional_constructor(Snapshot)

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
    if request.timer_id is None:
        hit = memo.get(key)
        if hit is not None:
            configuration, microsteps = hit
            moved = _new_snapshot(snapshot.chart, snapshot.version, snapshot.hash,
                                  snapshot.session, configuration, snapshot.data,
                                  snapshot.history, snapshot.timers, snapshot.invokes,
                                  snapshot.done, snapshot.done_data, snapshot.counter,
                                  snapshot.parent)
            return moved, "applied", microsteps, (), True
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
