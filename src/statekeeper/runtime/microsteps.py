"""The audit form of a step's microsteps, as the transition log stores them.

Split from ``planner``: a plain-data rendering (event, transitions, states exited and
entered) that memoised steps repeat endlessly, so each distinct tuple is rendered once and its
list shared, which also lets the store's encoder reuse the JSON text.
"""

from __future__ import annotations

from typing import Any

from ..core.commands import Microstep
from ..storage.records import FrozenList

__all__ = ["audit_microsteps"]

_MICROS: dict[tuple[Microstep, ...], list[dict[str, Any]]] = {}
_MICROS_BY_ID: dict[int, tuple[tuple[Microstep, ...], list[dict[str, Any]]]] = {}


def audit_microsteps(microsteps: tuple[Microstep, ...]) -> list[dict[str, Any]]:
    """The audit form of a step's microsteps; one shared list per distinct tuple.

    Memoised steps repeat the same microsteps endlessly; sharing the list lets the store's
    encoder reuse its JSON text too.  Nothing mutates these lists.  A memoised step hands
    back the very same tuple each time, so it is found by identity first, without hashing
    every microstep in it.
    """
    same = _MICROS_BY_ID.get(id(microsteps))
    if same is not None and same[0] is microsteps:
        return same[1]
    try:
        found = _MICROS.get(microsteps)
    except TypeError:  # an unhashable value inside: convert every time
        return [_micro(m) for m in microsteps]
    if found is None:
        if len(_MICROS) >= 10_000:
            _MICROS.clear()
        found = _MICROS[microsteps] = FrozenList(_micro(m) for m in microsteps)
    if len(_MICROS_BY_ID) >= 10_000:
        _MICROS_BY_ID.clear()
    _MICROS_BY_ID[id(microsteps)] = (microsteps, found)  # the tuple is kept: its id stays its own
    return found


def _micro(micro: Microstep) -> dict[str, Any]:
    return {"event": micro.event, "transitions": [[s, list(t)] for s, t in micro.transitions],
            "exited": list(micro.exited), "entered": list(micro.entered)}
