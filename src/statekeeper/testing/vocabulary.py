"""The names generated charts use: their events, guards, functions and starting data.

Kept apart from :mod:`statekeeper.testing.strategies` (which draws the charts) because tests
that bind or check a generated chart need these names and functions without the drawing
machinery; everything here is re-exported there.  Every guard and function is a deterministic
function of the instance data and the event, so a generated chart's steps can be replayed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from ..core.actions import Send
from ..core.model import Chart, State

__all__ = [
    "BUDGET",
    "EXTERNAL_EVENTS",
    "FUNCTIONS",
    "GUARDS",
    "INITIAL_DATA",
    "RAISED_EVENTS",
    "UNKNOWN_EVENT",
    "Data",
    "chart_events",
    "has_timers",
]

#: External events the generated charts react to (``e`` descriptors match ``e.x`` and ``e.y``).
EXTERNAL_EVENTS: tuple[str, ...] = ("a", "b", "c", "e.x", "e.y")
#: An event no generated transition names (only ``*`` can take it).
UNKNOWN_EVENT = "zzz"
#: Events raised internally or sent to self without delay; transitions on them are budgeted.
RAISED_EVENTS: tuple[str, ...] = ("r.1", "r.2")
#: How many budgeted transitions may run before an external transition resets ``k``.
BUDGET = 3
#: The data every generated chart starts with.
INITIAL_DATA: Mapping[str, Any] = MappingProxyType(
    {"n": 0, "k": 0, "flag": False, "box": {"v": 0}}
)

Data = Mapping[str, Any]


def _budget(data: Data, event: Any) -> bool:
    return bool(data["k"] < BUDGET)


def _n_even(data: Data, event: Any) -> bool:
    return bool(data["n"] % 2 == 0)


def _n_small(data: Data, event: Any) -> bool:
    return bool(data["n"] < 2)


def _flag(data: Data, event: Any) -> bool:
    return bool(data["flag"])


def _is_a(data: Data, event: Any) -> bool:
    return event is not None and event.name == "a"


def _x_big(data: Data, event: Any) -> bool:
    payload = None if event is None else event.data
    return isinstance(payload, Mapping) and payload.get("x", 0) > 1


def _budget_n_even(data: Data, event: Any) -> bool:
    return _budget(data, event) and _n_even(data, event)


def _budget_flag(data: Data, event: Any) -> bool:
    return _budget(data, event) and _flag(data, event)


def _tick(data: Data, event: Any) -> dict[str, Any]:
    return {**data, "k": data["k"] + 1}


def _bump(data: Data, event: Any) -> dict[str, Any]:
    return {**data, "n": (data["n"] + 1) % 5}


def _double_n(data: Data, event: Any) -> int:
    return int(data["n"] * 2 % 5)


def _take_x(data: Data, event: Any) -> Any:
    payload = None if event is None else event.data
    if isinstance(payload, Mapping) and "x" in payload:
        return payload["x"]
    return data["n"]


def _fragile(data: Data, event: Any) -> bool:
    # raises at n == 1 (ZeroDivisionError): a guard that fails is false and error.execution
    return bool(10 // (data["n"] - 1) > 3)


def _n_value(data: Data, event: Any) -> Any:
    return data["n"]  # not a bool: the step takes its truth


def _fragile_n(data: Data, event: Any) -> int:
    if data["n"] == 2:
        raise ValueError("n is 2")  # an assign that fails cuts its block short
    return int((data["n"] + 3) % 5)


def _boxed(data: Data, event: Any) -> dict[str, Any]:
    return {"v": data["n"]}  # a container: the data is no longer flat


#: The guards generated charts name, all deterministic functions of data and event.
GUARDS: Mapping[str, Callable[[Data, Any], bool]] = MappingProxyType({
    "budget": _budget,
    "budget_n_even": _budget_n_even,
    "budget_flag": _budget_flag,
    "n_even": _n_even,
    "n_small": _n_small,
    "flag": _flag,
    "is_a": _is_a,
    "x_big": _x_big,
    "fragile": _fragile,
    "n_value": _n_value,
})
#: The functions (``Call`` targets and ``expr`` names) generated charts name.
FUNCTIONS: Mapping[str, Callable[[Data, Any], Any]] = MappingProxyType({
    "tick": _tick,
    "bump": _bump,
    "double_n": _double_n,
    "take_x": _take_x,
    "fragile_n": _fragile_n,
    "boxed": _boxed,
})


def has_timers(states: Sequence[State]) -> bool:
    """Whether any of ``states`` (or their descendants) can start a timer."""
    for state in states:
        blocks = [*state.entry_blocks, *state.exit_blocks, *(t.actions for t in state.transitions)]
        if state.after_transitions or any(
            isinstance(a, Send) and a.delay for block in blocks for a in block
        ):
            return True
        if has_timers(state.children):
            return True
    return False


def chart_events(chart: Chart) -> tuple[str, ...]:
    """External event names a hand-written chart reacts to (from its descriptors)."""
    found: list[str] = []

    def visit(states: Sequence[State]) -> None:
        for state in states:
            for t in state.transitions:
                for descriptor in (t.event or "").split():
                    name = descriptor.removesuffix(".*").removesuffix(".")
                    if name and name != "*" and not name.startswith(("done.", "error.",
                                                                     "statekeeper.")):
                        found.append(name)
            visit(state.children)

    visit(chart.children)
    return tuple(dict.fromkeys(found))
