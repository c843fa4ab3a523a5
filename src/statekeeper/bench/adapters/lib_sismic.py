"""sismic: a ``Statechart`` model defined once, one ``Interpreter`` per instance.

sismic separates the model from its execution: the statechart is built once (here through its
documented Python model API, equivalent to its YAML format) and each instance is an
``Interpreter``.  An interpreter enters its initial configuration on its first
``execute_once()``, so that is part of creating one.  Events are queued and processed with
``queue(event)`` + ``execute_once()`` (one macro step per event, as statekeeper's ``send``).
The charts carry no code, so the interpreters use sismic's ``DummyEvaluator`` rather than the
default Python evaluator, which is the fastest configuration sismic offers for them.
sismic requires a single root state, so the flat rings live inside a compound ``root``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..shapes import FLAT20_MOVES, FLAT20_SIZE, SHAPES
from .base import Adapter

__all__ = ["SismicAdapter"]


def _statechart(shape: str) -> Any:
    from sismic.model import BasicState, CompoundState, OrthogonalState, Statechart, Transition

    chart = Statechart(shape)

    def ring(parent: str, under: str | None, names: Sequence[str], event: str) -> None:
        chart.add_state(CompoundState(parent, initial=names[0]), under)
        for name in names:
            chart.add_state(BasicState(name), parent)
        for i, name in enumerate(names):
            chart.add_transition(Transition(name, names[(i + 1) % len(names)], event=event))

    if shape == "flat3":
        ring("root", None, ["a", "b", "c"], "next")
    elif shape == "flat20":
        names = [f"s{i}" for i in range(FLAT20_SIZE)]
        chart.add_state(CompoundState("root", initial="s0"), None)
        for name in names:
            chart.add_state(BasicState(name), "root")
        for event, delta in FLAT20_MOVES.items():
            for i, name in enumerate(names):
                target = names[(i + delta) % FLAT20_SIZE]
                chart.add_transition(Transition(name, target, event=event))
    elif shape == "compound":
        chart.add_state(CompoundState("root", initial="on"), None)
        ring("on", "root", ["a", "b", "c"], "cycle")
        chart.add_state(BasicState("off"), "root")
        chart.add_transition(Transition("on", "off", event="toggle"))
        chart.add_transition(Transition("off", "on", event="toggle"))
    elif shape == "parallel":
        chart.add_state(CompoundState("root", initial="p"), None)
        chart.add_state(OrthogonalState("p"), "root")
        ring("r1", "p", ["x1", "x2", "x3"], "tick")
        ring("r2", "p", ["y1", "y2"], "tick")
    else:  # pragma: no cover
        raise ValueError(shape)
    chart.validate()
    return chart


class SismicAdapter(Adapter):
    """Drives ``sismic.interpreter.Interpreter`` with ``queue`` + ``execute_once``."""

    name = "sismic"
    note = (
        "Statechart once; Interpreter(chart, evaluator_klass=DummyEvaluator) + "
        "execute_once() per instance; queue(event) + execute_once()"
    )

    _composites = frozenset({"root"}).union(*(shape.composites for shape in SHAPES.values()))

    def build(self, shape: str) -> Any:
        return _statechart(shape)

    def creator(self, factory: Any) -> Callable[[], Any]:
        from sismic.code import DummyEvaluator
        from sismic.interpreter import Interpreter

        def create() -> Any:
            interpreter = Interpreter(factory, evaluator_klass=DummyEvaluator)
            interpreter.execute_once()
            return interpreter

        return create

    def bind(self, instance: Any) -> Callable[[str], object]:
        queue = instance.queue
        execute_once = instance.execute_once

        def send(event: str) -> object:
            queue(event)
            return execute_once()

        return send

    def run(self, instance: Any, events: Sequence[str]) -> None:
        # Inline the two calls rather than going through bind()'s closure.
        queue = instance.queue
        execute_once = instance.execute_once
        for event in events:
            queue(event)
            execute_once()

    def leaves(self, instance: Any) -> frozenset[str]:
        return frozenset(instance.configuration) - self._composites
