"""xstate-statemachine: an XState-style config compiled once, one ``SyncInterpreter`` each.

This is the library's documented synchronous path: ``create_machine(config)`` once per chart,
``SyncInterpreter(machine).start()`` per instance, and ``interpreter.send(event)``, which runs
the macrostep before returning (the async ``Interpreter`` would add an event loop to every
send, which statekeeper's in-process ``send`` does not pay).  Active leaves come from
``current_state_ids`` (``"comp.on.a"``), whose last segment is the plain name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..shapes import FLAT20_MOVES, FLAT20_SIZE
from .base import Adapter

__all__ = ["XstateAdapter"]


def _ring(names: Sequence[str], event: str) -> dict[str, Any]:
    return {name: {"on": {event: names[(i + 1) % len(names)]}} for i, name in enumerate(names)}


def _config(shape: str) -> dict[str, Any]:
    if shape == "flat3":
        return {"id": "flat3", "initial": "a", "states": _ring(["a", "b", "c"], "next")}
    if shape == "flat20":
        states = {
            f"s{i}": {"on": {ev: f"s{(i + d) % FLAT20_SIZE}" for ev, d in FLAT20_MOVES.items()}}
            for i in range(FLAT20_SIZE)
        }
        return {"id": "flat20", "initial": "s0", "states": states}
    if shape == "compound":
        return {"id": "compound", "initial": "on", "states": {
            "on": {"initial": "a", "on": {"toggle": "off"},
                   "states": _ring(["a", "b", "c"], "cycle")},
            "off": {"on": {"toggle": "on"}},
        }}  # fmt: skip
    if shape == "parallel":
        return {"id": "parallel", "initial": "p", "states": {"p": {"type": "parallel", "states": {
            "r1": {"initial": "x1", "states": _ring(["x1", "x2", "x3"], "tick")},
            "r2": {"initial": "y1", "states": _ring(["y1", "y2"], "tick")},
        }}}}  # fmt: skip
    raise ValueError(shape)  # pragma: no cover


class XstateAdapter(Adapter):
    """Drives ``xstate_statemachine.SyncInterpreter`` through ``send``."""

    name = "xstate-statemachine"
    note = "create_machine(config) once; SyncInterpreter(machine).start() per instance; send(event)"

    def build(self, shape: str) -> Any:
        from xstate_statemachine import create_machine

        return create_machine(_config(shape))

    def creator(self, factory: Any) -> Callable[[], Any]:
        from xstate_statemachine import SyncInterpreter

        def create() -> Any:
            return SyncInterpreter(factory).start()

        return create

    def bind(self, instance: Any) -> Callable[[str], object]:
        send: Callable[[str], object] = instance.send
        return send

    def leaves(self, instance: Any) -> frozenset[str]:
        return frozenset(sid.rsplit(".", 1)[-1] for sid in instance.current_state_ids)
