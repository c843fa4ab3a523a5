"""What a compiled guard or action says of itself, for steps that call it more directly.

A compiled guard is ``cond(ctx) -> bool`` and a compiled action ``action(run) -> None``: the
general step calls them with its working state.  Some of them are thin wrappers around what
the chart's author bound (a guard ``fn(data, event)``, an assign of ``fn(data, event)`` to a
top-level name) or around a constant (``In(s)`` within a known configuration, a literal
assigned to a top-level name).  Such a closure carries a small tuple, its *mark*, saying so;
:mod:`statekeeper.core._flat` reads the marks to step without a working state.  A closure
without a mark is simply never taken that way.

Marks (the first item names the kind):

- ``("call", fn, negate)``: the guard ``[not] fn(data view, event)``;
- ``("in", state_id, negate)``: the guard ``[not] In(state_id)``;
- ``("assign", name, fn)``: the action ``data[name] = fn(data view, event)`` (thawed);
- ``("set", name, value)``: the action ``data[name] = value``, ``value`` a scalar;
- ``("top", name)``: a location setter writing ``data[name]`` (used to mark ``"set"``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["mark", "mark_of"]

_ATTRIBUTE = "_statekeeper_mark"
F = TypeVar("F", bound=Callable[..., Any])


def mark(fn: F, *spec: Any) -> F:
    """Give ``fn`` its mark (see the module docstring) and return it."""
    setattr(fn, _ATTRIBUTE, spec)
    return fn


def mark_of(fn: Callable[..., Any] | None) -> tuple[Any, ...] | None:
    """The mark of ``fn``, or ``None`` when it has none (or is ``None``)."""
    return getattr(fn, _ATTRIBUTE, None)
