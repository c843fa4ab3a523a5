"""Memoised starts: the initial step of a chart whose start runs no code of the user's.

Why: most charts start the same way every time: they enter the same initial states and bind
the same literal data, and no guard, action, expression, timer or effect takes part.  The
initial step of such a chart is then the same for every instance but for the session id (and
the data a caller passes, which only overrides items), so running the whole SCXML entry
algorithm on every start (about a third of what a durable start cost) is work done once.

When a chart qualifies is decided once per compiled chart, conservatively, from its structure
and one real initial step: every data item is a literal (no ``expr``, no ``src``), there is no
script, no state of the initial configuration has entry actions, invokes or eventless
transitions or is final, no initial transition on the way in has actions, binding is early or
all data is declared at the root (late binding binds a state's items on entry, after the
caller's data), and that step was applied with no commands.  Anything else takes the pure
step, as before; the memo is a cache of a pure function and cannot disagree with
:func:`statekeeper.core.step.initial_step` (``tests/runtime/test_start_memo.py`` compares them
on generated charts).
"""

from __future__ import annotations

from typing import Any

from ..core._records import positional_constructor
from ..core.commands import Command, Microstep
from ..core.compile import CompiledChart
from ..core.result import Status
from ..core.snapshot import Snapshot
from ..core.step import initial_step
from .state import copy_data

__all__ = ["initial_outcome", "memoisable"]

_KEY = "statekeeper.runtime.start_memo"

#: a start's outcome as the planner uses it: snapshot, status, microsteps, commands
Start = tuple[Snapshot, Status, tuple[Microstep, ...], tuple[Command, ...]]

# every field, positionally: one snapshot per start, from the memo's (``replace`` costs more)
_new_snapshot = positional_constructor(Snapshot)


def _quiet(chart: CompiledChart, snapshot: Snapshot) -> bool:
    """Whether entering ``snapshot``'s configuration ran nothing of the user's (see above)."""
    if chart.script is not None:
        return False
    root = chart.root
    for owner, item in chart.data_items:
        if item.expr is not None or item.src is not None:
            return False
        if chart.binding != "early" and owner is not root:
            return False
    if root.initial is None or root.initial.actions:
        return False
    nodes = chart.nodes
    for state_id in snapshot.configuration:
        node = nodes.get(state_id)
        if node is None or node.entry or node.invokes or node.eventless or node.kind == "final":
            return False
        if node.initial is not None and node.initial.actions:
            return False
    return True


def memoisable(chart: CompiledChart, now: float) -> Start | None:
    """The chart's memoised start (computed on first use), or ``None`` if it has none."""
    memo = chart.memo
    if _KEY in memo:
        found: Start | None = memo[_KEY]
        return found
    result = initial_step(chart, now=now, data={}, session="")
    snapshot = result.snapshot
    outcome: Start | None = None
    if (result.status == "applied" and not result.commands and not snapshot.done
            and not snapshot.timers and not snapshot.invokes and _quiet(chart, snapshot)):
        outcome = (snapshot, result.status, result.microsteps, ())
    memo[_KEY] = outcome
    return outcome


def initial_outcome(chart: CompiledChart, data: dict[str, Any] | None, session: str,
                    now: float) -> Start:
    """The initial step of instance ``session`` started with ``data``, memoised if it can be.

    ``data`` must already be the engine's own copy (the planner copies the caller's).
    """
    memo = memoisable(chart, now)
    if memo is None:
        result = initial_step(chart, now=now, data=data, session=session)
        return result.snapshot, result.status, result.microsteps, result.commands
    snapshot, status, microsteps, commands = memo
    # the declared items not overridden, in declared order, then the caller's (as bind_data
    # followed by update() leaves them); each instance gets data of its own
    bound = {k: copy_data(v) for k, v in snapshot.data.items() if not data or k not in data}
    if data:
        bound.update(data)
    s = snapshot
    return (_new_snapshot(s.chart, s.version, s.hash, session, s.configuration, bound, s.history,
                          s.timers, s.invokes, s.done, s.done_data, s.counter, s.parent),
            status, microsteps, commands)
