"""The spellings a hand-written chart may use for its parts, turned into one shape or refused.

Charts are mostly written as literals, and the model accepts the short forms people reach for:
one action where a list is allowed, ``"a b"`` for two state ids.  These helpers turn every
accepted spelling into a tuple, and refuse anything else with a :class:`ChartError` that says
what to write, so a slip is reported where the chart is defined, not as an ``AttributeError``
from inside the compiler.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .durations import parse_duration
from .errors import ChartError

__all__ = ["action_blocks", "action_tuple", "check_stuck_after", "id_tuple", "shown"]


def shown(value: Any) -> str:
    """``value`` for an error message: its repr when short, else what type it is."""
    text = repr(value)
    return text if len(text) <= 60 else f"a {type(value).__name__}"


def id_tuple(value: Any, what: str, state: str | None, noun: str = "state id") -> tuple[str, ...]:
    """Ids given as one string (space-separated) or as an iterable of strings, as a tuple.

    Raises:
        ChartError: ``value`` is neither (a number, a ``State``, a list holding a non-string).

    """
    if isinstance(value, str):
        return tuple(value.split())
    items: tuple[Any, ...] | None = None
    if not isinstance(value, Mapping):
        try:
            items = tuple(value)
        except TypeError:
            items = None
    if items is None or not all(isinstance(item, str) for item in items):
        raise ChartError(f"{what} must be a {noun}, {noun}s separated by spaces, or a list of "
                         f"them, not {shown(value)}", state)
    return items


def action_tuple(actions: Any) -> tuple[Any, ...]:
    """One action, a list of them or ``None``, as a tuple (what each item is, the compiler checks)."""
    if actions is None:
        return ()
    if not isinstance(actions, (list, tuple)):
        return (actions,)
    return tuple(actions)


def action_blocks(blocks: Any) -> tuple[tuple[Any, ...], ...]:
    """``entry``/``exit``: one action, one list of actions, or a list of lists (separate blocks)."""
    if blocks is None or blocks == ():
        return ()
    if not isinstance(blocks, (list, tuple)):
        return ((blocks,),)
    if blocks and all(isinstance(b, (list, tuple)) for b in blocks):
        return tuple(tuple(b) for b in blocks)
    return (tuple(blocks),)


def check_stuck_after(value: Any, kind: Any, state: str) -> None:
    """Refuse a ``stuck_after`` that is not a duration above 0, or on a history state."""
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise ChartError(f"stuck_after takes a duration such as '2h': {exc}", state) from None
    if not seconds > 0:
        raise ChartError(f"stuck_after must be above 0 seconds, not {shown(value)}", state)
    if kind == "history":
        raise ChartError("stuck_after on a history state: no instance is ever in one; set it "
                         "on the state that holds it", state)
