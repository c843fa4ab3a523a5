"""python-statemachine: declarative ``StateChart`` classes, one class instance per machine.

This is the library's own idiom: states and events are class attributes, compound and parallel
states are ``State.Compound`` / ``State.Parallel`` nested classes, instances are created by
calling the class, and events are sent by name with ``sm.send(event)``.  ``StateChart`` is the
SCXML-semantics base class of 3.x; flat20 is generated with ``types.new_class`` because writing
100 transitions by hand would obscure, not clarify, the machine.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from ..shapes import FLAT20_MOVES, FLAT20_SIZE
from .base import Adapter

__all__ = ["PythonStatemachineAdapter"]


def _classes() -> dict[str, type[Any]]:
    from statemachine import State, StateChart

    class Flat3(StateChart[Any]):
        a = State(initial=True)
        b = State()
        c = State()
        next = a.to(b) | b.to(c) | c.to(a)

    def flat20_body(ns: dict[str, Any]) -> None:
        states = [State(initial=(i == 0)) for i in range(FLAT20_SIZE)]
        ns.update({f"s{i}": state for i, state in enumerate(states)})
        for event, delta in FLAT20_MOVES.items():
            moves = [states[i].to(states[(i + delta) % FLAT20_SIZE]) for i in range(FLAT20_SIZE)]
            combined = moves[0]
            for move in moves[1:]:
                combined = combined | move
            ns[event] = combined

    flat20 = types.new_class("Flat20", (StateChart[Any],), exec_body=flat20_body)

    class Compound(StateChart[Any]):
        class on(State.Compound):  # noqa: N801 -- the class name is the state id
            a = State(initial=True)
            b = State()
            c = State()
            cycle = a.to(b) | b.to(c) | c.to(a)

        off = State()
        toggle = on.to(off) | off.to(on)

    class Par(StateChart[Any]):
        class p(State.Parallel):  # noqa: N801 -- the class name is the state id
            class r1(State.Compound):  # noqa: N801 -- the class name is the state id
                x1 = State(initial=True)
                x2 = State()
                x3 = State()
                tick = x1.to(x2) | x2.to(x3) | x3.to(x1)

            class r2(State.Compound):  # noqa: N801 -- the class name is the state id
                y1 = State(initial=True)
                y2 = State()
                tick = y1.to(y2) | y2.to(y1)

    return {"flat3": Flat3, "flat20": flat20, "compound": Compound, "parallel": Par}


class PythonStatemachineAdapter(Adapter):
    """Drives ``statemachine.StateChart`` subclasses through ``send``."""

    name = "python-statemachine"
    note = "StateChart subclass per shape; instance = cls(); sm.send(event)"

    def build(self, shape: str) -> Any:
        return _classes()[shape]

    def creator(self, factory: Any) -> Callable[[], Any]:
        create: Callable[[], Any] = factory
        return create

    def bind(self, instance: Any) -> Callable[[str], object]:
        send: Callable[[str], object] = instance.send
        return send

    def leaves(self, instance: Any) -> frozenset[str]:
        return frozenset(state.id for state in instance.configuration if state.is_atomic)
