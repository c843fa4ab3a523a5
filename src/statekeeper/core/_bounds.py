"""Check a chart's size against :class:`~statekeeper.core.limits.Limits` before compiling it.

The compiler and the step walk the state tree recursively, so a chart nested a thousand
levels deep would end in a raw ``RecursionError`` somewhere inside them.  This walk is
iterative and runs first: it refuses a chart deeper than ``max_depth`` or with more states
or transitions than allowed, naming the first state over the limit.
"""

from __future__ import annotations

from .errors import LimitExceeded
from .limits import Limits
from .model import Chart, State

__all__ = ["check_chart_bounds", "shape_problem"]

_FINAL_WITH_CHILDREN = ("a final state cannot have child states: make it a compound state "
                        "holding a final child, or move the children out")
_ONLY_HISTORY = ("a compound state holding only a history state has nothing to enter or "
                 "remember: add a child state next to the history state, or remove the "
                 "history state")


def shape_problem(state: State) -> str | None:
    """Why ``state`` cannot run as written, or ``None``.

    A final state with children, or a compound state holding only history states.  The
    compiler raises it for charts built in Python; the readers call it first to name the
    line or the path in the document.
    """
    if state.kind == "final" and state.children:
        return _FINAL_WITH_CHILDREN
    if state.children and state.kind != "parallel" and all(
            child.kind == "history" for child in state.children):
        return _ONLY_HISTORY
    return None


def check_chart_bounds(chart: Chart, limits: Limits) -> None:
    """Raise :class:`LimitExceeded` if ``chart`` is deeper or bigger than ``limits`` allow.

    The depth of a top-level state is 1.  ``where`` in the error is the path of state ids
    from the top (``chart 'x' state a/b/c``), shortened when long.
    """
    states = transitions = 0
    todo: list[tuple[State, int, tuple[str, ...]]] = [
        (state, 1, ()) for state in reversed(chart.children)
    ]
    while todo:
        state, depth, parents = todo.pop()
        path = (*parents, str(state.id))
        if depth > limits.max_depth:
            raise LimitExceeded("max_depth", limits.max_depth, _where(chart, path),
                                f"state {state.id!r} is nested {depth} levels deep")
        states += 1
        if states > limits.max_states:
            raise LimitExceeded("max_states", limits.max_states, _where(chart, path),
                                "the chart has more states")
        transitions += len(state.transitions)
        transitions += sum(len(targets) for targets in state.after_transitions.values())
        if transitions > limits.max_transitions:
            raise LimitExceeded("max_transitions", limits.max_transitions, _where(chart, path),
                                "the chart has more transitions")
        todo.extend((child, depth + 1, path) for child in reversed(state.children))


def _where(chart: Chart, path: tuple[str, ...]) -> str:
    shown = "/".join(path) if len(path) <= 6 else "/".join((*path[:3], "...", *path[-2:]))
    return f"chart {chart.name!r} state {shown}"
