"""Static checks of a compiled chart's shape: unreachable states and states with no way out.

Errors that make a chart unrunnable (unknown targets, bad initials, duplicate ids, transitions
out of final states, unbound names) are raised while compiling.  What is checked here is legal
but usually a mistake, so it warns by default and fails when asked (``checks="error"``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from ._warn import warn_caller
from .errors import ChartError, ChartWarning
from .nodes import COMPOUND, FINAL, HISTORY, PARALLEL, Node

__all__ = ["check_chart", "did_you_mean"]


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest known name, or ``""``."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_chart(compiled: Any, checks: str) -> None:
    """Warn about (or, with ``checks="error"``, reject) unreachable states and traps."""
    if checks == "ignore":
        return
    problems: list[tuple[str, str]] = []
    reachable = _reachable(compiled.root)
    for node in compiled.states:
        if node not in reachable:
            problems.append((node.id, "is unreachable: no transition or initial leads to it"))
    for node in compiled.states:
        if node.kind in ("atomic",) and node in reachable and not _has_way_out(node):
            problems.append((node.id, "has no way out: no transition leaves it and it is not final"))
    for state, reason in problems:
        if checks == "error":
            raise ChartError(reason, state)
        warn_caller(f"state {state!r} {reason}", ChartWarning)


def _reachable(root: Node) -> set[Node]:
    seen: set[Node] = set()
    todo: list[Node] = []

    def enter(node: Node) -> None:
        if node in seen:
            return
        seen.add(node)
        todo.append(node)
        for ancestor in node.ancestors:
            if ancestor.parent is not None and ancestor not in seen:
                enter(ancestor)
        if node.kind == PARALLEL:
            for child in node.children:
                enter(child)
        elif node.kind in (COMPOUND, HISTORY) and node.initial is not None:
            for target in node.initial.targets:
                enter(target)
        if node.kind == HISTORY and node.parent is not None:
            # A history state can restore any descendant configuration of its parent.
            for descendant in node.parent.descendants:
                if descendant.kind != HISTORY:
                    enter(descendant)

    assert root.initial is not None
    for target in root.initial.targets:
        enter(target)
    while todo:
        node = todo.pop()
        for transition in node.transitions + node.eventless:
            for target in transition.targets:
                enter(target)
    return seen


def _has_way_out(node: Node) -> bool:
    for state in (node, *node.ancestors):
        if state.transitions or state.eventless:
            return True
        if state.kind == FINAL:
            return True
        if state.parent is not None and state.parent.kind == PARALLEL:
            # A region of a parallel state ends when its siblings finish; do not flag it.
            return True
    return False
