"""automat: typed flat machines from ``TypeMachineBuilder``; inputs are method calls.

automat models inputs as the methods of a ``Protocol`` and has no hierarchy and no guards (an
input's next state depends only on the current state), so it expresses only the flat static
shapes; the others are reported as "n/a" with that reason.  A machine class is built
once; an instance is ``Machine(core)``.  Events arrive by name in the benchmark, so an
instance's input methods are looked up once into a dict and each event is one dict lookup and
one call, the closest automat gets to a by-name ``send``.  automat exposes no public "current
state" accessor, so the states are read from its transitioner for the agreement check only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ..shapes import FLAT20_MOVES, FLAT20_SIZE
from .base import Adapter

__all__ = ["AutomatAdapter"]


class RingInputs(Protocol):
    """flat3's single input."""

    def next(self) -> None: ...


class Flat20Inputs(Protocol):
    """flat20's five inputs (see ``shapes.FLAT20_MOVES``)."""

    def p1(self) -> None: ...
    def p2(self) -> None: ...
    def p5(self) -> None: ...
    def m1(self) -> None: ...
    def p7(self) -> None: ...


class Core:
    """The (empty) shared core every automat machine wraps."""


def _machine(shape: str) -> tuple[Any, tuple[str, ...]]:
    from automat import TypeMachineBuilder

    if shape == "flat3":
        ring: Any = TypeMachineBuilder(RingInputs, Core)
        a, b, c = ring.state("a"), ring.state("b"), ring.state("c")
        a.upon(RingInputs.next).to(b).returns(None)
        b.upon(RingInputs.next).to(c).returns(None)
        c.upon(RingInputs.next).to(a).returns(None)
        return ring.build(), ("next",)
    if shape == "flat20":
        builder: Any = TypeMachineBuilder(Flat20Inputs, Core)
        states = [builder.state(f"s{i}") for i in range(FLAT20_SIZE)]
        for event, delta in FLAT20_MOVES.items():
            method = getattr(Flat20Inputs, event)
            for i, state in enumerate(states):
                state.upon(method).to(states[(i + delta) % FLAT20_SIZE]).returns(None)
        return builder.build(), tuple(FLAT20_MOVES)
    raise ValueError(f"automat has no hierarchy; cannot express {shape!r}")


class AutomatAdapter(Adapter):
    """Drives ``automat.TypeMachineBuilder`` machines by calling their input methods."""

    name = "automat"
    shapes = ("flat3", "flat20")
    cannot = {
        "guarded_flat": "no guards: an input's next state depends only on the current state",
        "guarded_compound": "no guards and no hierarchy (compound states, In())",
        "order": "no guards and no parallel regions",
        "compound": "no hierarchy (compound states)",
        "parallel": "no parallel regions",
    }
    note = "TypeMachineBuilder; Machine(Core()) per instance; input methods via a per-instance dict"

    def __init__(self) -> None:
        #: The input names of each built machine, keyed by the type of its instances.
        self._inputs: dict[type, tuple[str, ...]] = {}

    def build(self, shape: str) -> Any:
        machine, names = _machine(shape)
        self._inputs[type(machine(Core()))] = names
        return machine

    def creator(self, factory: Any) -> Callable[[], Any]:
        def create() -> Any:
            return factory(Core())

        return create

    def bind(self, instance: Any) -> Callable[[str], object]:
        inputs = {name: getattr(instance, name) for name in self._inputs[type(instance)]}

        def send(event: str) -> object:
            return inputs[event]()

        return send

    def run(self, instance: Any, events: Sequence[str]) -> None:
        inputs = {name: getattr(instance, name) for name in self._inputs[type(instance)]}
        for event in events:
            inputs[event]()

    def leaves(self, instance: Any) -> frozenset[str]:
        return frozenset({instance.__automat_transitioner__._state.name})
