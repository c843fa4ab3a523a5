"""The names a chart expects to be bound: its guards and its functions.

Under the default ``functions`` datamodel, a ``cond`` names a guard and every ``expr`` (and
``Call.fn``, ``Foreach.array``, ``Effect.argsexpr``) names a function; they are bound when
the chart is compiled.  Tools that check a chart file without its Python code (the
``statekeeper validate`` command, an editor) need the list, to report it and to bind
placeholders; so do people wiring a chart written in YAML to its code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, NamedTuple

from statekeeper.core.actions import If
from statekeeper.core.model import Chart

__all__ = ["BoundNames", "referenced_names"]

_LITERAL_FIELDS = frozenset({"value", "data", "args"})
_FUNCTION_FIELDS = frozenset({"array", "fn"})


class BoundNames(NamedTuple):
    """The names a chart refers to, by the table they are bound from."""

    guards: frozenset[str]
    functions: frozenset[str]


def referenced_names(chart: Chart) -> BoundNames:
    """Return the guard and function names ``chart`` refers to.

    ``In(state)`` conditions and the ``!`` negation are understood, as the ``functions``
    datamodel does.  Child charts (an invoke's ``content``) are not included: they are
    compiled, and bound, on their own.

    Example:
        >>> from statekeeper import Chart, State, Transition, Call
        >>> chart = Chart("c", states={"a": State(
        ...     entry=[Call("tick")], on={"go": Transition("a", cond="!busy")})})
        >>> referenced_names(chart)
        BoundNames(guards=frozenset({'busy'}), functions=frozenset({'tick'}))

    """
    guards: set[str] = set()
    functions: set[str] = set()
    for state in chart.children:
        _walk(state, guards, functions)
    for item in chart.data_items:
        _walk(item, guards, functions)
    return BoundNames(frozenset(guards), frozenset(functions))


def _walk(value: Any, guards: set[str], functions: set[str]) -> None:
    if isinstance(value, Chart):
        return  # a child chart binds its own names
    if isinstance(value, If):
        for cond, body in value.branches:
            _guard(cond, guards)
            _walk(body, guards, functions)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if f.name == "cond":
                _guard(item, guards)
            elif isinstance(item, str) and (f.name.endswith("expr") or f.name in _FUNCTION_FIELDS):
                functions.add(item)
            elif f.name not in _LITERAL_FIELDS:
                _walk(item, guards, functions)
    elif isinstance(value, Mapping):
        for item in value.values():
            _walk(item, guards, functions)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _walk(item, guards, functions)


def _guard(cond: str | None, guards: set[str]) -> None:
    if cond is None:
        return
    name = cond[1:].strip() if cond.startswith("!") else cond
    if not (name.startswith("In(") and name.endswith(")")):
        guards.add(name)
