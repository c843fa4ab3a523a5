"""transitions: one shared ``Machine`` per shape, one plain model object per instance.

transitions keeps the state on a *model*; its documented way to run many machines of one kind
is a single ``Machine`` (or ``HierarchicalMachine`` for nesting) with ``add_model`` per object,
which is far cheaper than building a ``Machine`` per object, so that is what an instance costs
here.  Auto transitions (``to_<state>``) are off, and events are sent by name through the
model's ``trigger``.  The shared machine holds every model and ``add_model`` checks membership
with a scan of that list, so instances are released between measurements; otherwise the cost
of creating one would grow with everything created before it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..shapes import FLAT20_MOVES, FLAT20_SIZE
from .base import Adapter

__all__ = ["TransitionsAdapter"]


class _Model:
    """The plain object transitions decorates with ``state`` and trigger methods."""


def _ring(event: str, names: Sequence[str]) -> list[list[str]]:
    return [[event, src, names[(i + 1) % len(names)]] for i, src in enumerate(names)]


def _machine(shape: str) -> Any:
    from transitions import Machine
    from transitions.extensions import HierarchicalMachine

    if shape == "flat3":
        return Machine(
            model=None,
            states=["a", "b", "c"],
            initial="a",
            transitions=_ring("next", ["a", "b", "c"]),
            auto_transitions=False,
        )
    if shape == "flat20":
        names = [f"s{i}" for i in range(FLAT20_SIZE)]
        moves = [
            [ev, names[i], names[(i + d) % FLAT20_SIZE]]
            for ev, d in FLAT20_MOVES.items()
            for i in range(FLAT20_SIZE)
        ]
        return Machine(model=None, states=names, initial="s0", transitions=moves, auto_transitions=False)
    if shape == "compound":
        states = [
            {
                "name": "on",
                "initial": "a",
                "children": ["a", "b", "c"],
                "transitions": _ring("cycle", ["a", "b", "c"]),
            },
            "off",
        ]
        return HierarchicalMachine(
            model=None,
            states=states,
            initial="on",
            transitions=[["toggle", "on", "off"], ["toggle", "off", "on"]],
            auto_transitions=False,
        )
    if shape == "parallel":
        states = [
            {
                "name": "p",
                "parallel": [
                    {
                        "name": "r1",
                        "initial": "x1",
                        "children": ["x1", "x2", "x3"],
                        "transitions": _ring("tick", ["x1", "x2", "x3"]),
                    },
                    {
                        "name": "r2",
                        "initial": "y1",
                        "children": ["y1", "y2"],
                        "transitions": _ring("tick", ["y1", "y2"]),
                    },
                ],
            }
        ]
        return HierarchicalMachine(model=None, states=states, initial="p", auto_transitions=False)
    raise ValueError(shape)  # pragma: no cover


def _flatten(state: Any) -> list[str]:
    if isinstance(state, str):
        return [state]
    return [leaf for part in state for leaf in _flatten(part)]


class TransitionsAdapter(Adapter):
    """Drives ``transitions.Machine`` / ``HierarchicalMachine`` models through ``trigger``."""

    name = "transitions"
    note = (
        "one shared (Hierarchical)Machine per shape, add_model(obj) per instance, "
        "auto_transitions=False; obj.trigger(event)"
    )

    def build(self, shape: str) -> Any:
        return _machine(shape)

    def creator(self, factory: Any) -> Callable[[], Any]:
        add_model = factory.add_model
        model_cls = _Model

        def create() -> Any:
            model = model_cls()
            add_model(model)
            return model

        return create

    def bind(self, instance: Any) -> Callable[[str], object]:
        trigger: Callable[[str], object] = instance.trigger
        return trigger

    def leaves(self, instance: Any) -> frozenset[str]:
        # Nested states are spelled "on_a" / "p_r1_x2"; the leaf is the last part.
        return frozenset(name.rsplit("_", 1)[-1] for name in _flatten(instance.state))

    def release(self, factory: Any, instances: Sequence[Any]) -> None:
        # Rebuild the model list once instead of ``remove_model`` (a linear scan per model).
        gone = {id(instance) for instance in instances}
        factory.models[:] = [model for model in factory.models if id(model) not in gone]
