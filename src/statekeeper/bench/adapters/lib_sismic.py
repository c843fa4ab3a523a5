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

from ..data_shapes import DATA_SHAPES, KEEP_EVEN, LIMIT, MAX_WEIGHT, PAUSE_AT, Payload
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


def _data_statechart(shape: str) -> Any:
    """The data-driven charts, with guards and actions as Python code, as sismic writes them.

    A fallback transition (taken when the guarded one before it is not) has the lower
    priority, since sismic refuses two enabled transitions of equal priority from one state;
    ``In(x)`` is sismic's ``active('x')``.  Payloads are the event's attributes.
    """
    from sismic.model import (
        BasicState,
        CompoundState,
        OrthogonalState,
        Statechart,
        Transition,
    )

    chart = Statechart(shape)
    high = Transition.HIGH_PRIORITY

    def states(parent: str | None, *children: Any) -> None:
        for child in children:
            chart.add_state(child, parent)

    def move(*args: Any, **kwargs: Any) -> None:
        chart.add_transition(Transition(*args, **kwargs))

    if shape == "guarded_flat":
        states(None, CompoundState("root", initial="even"))
        states("root", BasicState("even"), BasicState("odd", on_entry="odds += 1"),
               BasicState("full", on_exit="resets += 1"))
        for src, dst in (("even", "odd"), ("odd", "even")):
            move(src, dst, "add", guard=f"total + event.amount <= {LIMIT}",
                 action="n += 1\ntotal += event.amount", priority=high)
            move(src, "full", "add")
        move("full", "even", "reset", guard=f"event.keep < {KEEP_EVEN}",
             action="total = event.keep", priority=high)
        move("full", "odd", "reset", action="total = event.keep")
    elif shape == "guarded_compound":
        states(None, CompoundState("root", initial="work"))
        states("root", CompoundState("work", initial="a"),
               BasicState("paused", on_entry="pauses += 1"))
        states("work", BasicState("a"), BasicState("b"), BasicState("c"))
        step = "total += event.amount"
        move("a", "b", "step", action=step)
        move("b", "c", "step", guard="event.amount >= 5", action=step, priority=high)
        move("b", "a", "step", action=step)
        move("c", "a", "step", action=step + "\nlaps += 1")
        move("work", "paused", "pause", guard="active('c')", action="deep += 1", priority=high)
        move("work", "paused", "pause", guard=f"total > {PAUSE_AT}", action="total = 0")
        move("paused", "work", "resume")
    elif shape == "order":
        states(None, CompoundState("root", initial="idle"))
        states("root", BasicState("idle"), OrthogonalState("open", on_entry="orders += 1"))
        states("open", CompoundState("payment", initial="unpaid"),
               CompoundState("shipping", initial="waiting"))
        states("payment", BasicState("unpaid"), BasicState("authorized"),
               BasicState("declined"), BasicState("paid"))
        states("shipping", BasicState("waiting"), BasicState("packed"),
               BasicState("shipped", on_entry="shipments += 1"))
        move("idle", "open", "place", guard="event.amount > 0", action="due = event.amount")
        move("unpaid", "authorized", "authorize", guard="event.amount >= due",
             action="held = event.amount", priority=high)
        move("unpaid", "declined", "authorize", action="declines += 1")
        move("declined", "unpaid", "retry")
        move("authorized", "paid", "capture", action="revenue += due")
        move("waiting", "packed", "pack", guard="active('paid')", action="parcels += 1")
        move("packed", "shipped", "ship", guard=f"event.weight <= {MAX_WEIGHT}")
        move("open", "idle", "close", guard="active('shipped')")
    else:  # pragma: no cover
        raise ValueError(shape)
    chart.validate()
    return chart


class SismicAdapter(Adapter):
    """Drives ``sismic.interpreter.Interpreter`` with ``queue`` + ``execute_once``."""

    name = "sismic"
    note = (
        "Statechart once; Interpreter(chart) + execute_once() per instance (DummyEvaluator for "
        "the static shapes, the default PythonEvaluator with code guards and actions for the "
        "data-driven ones); queue(event, **payload) + execute_once()"
    )

    _composites = frozenset({"root"}).union(*(shape.composites for shape in SHAPES.values()),
                                            *(shape.composites for shape in DATA_SHAPES.values()))

    def build(self, shape: str) -> Any:
        if shape in DATA_SHAPES:
            return _data_statechart(shape)
        return _statechart(shape)

    def creator(self, factory: Any) -> Callable[[], Any]:
        from sismic.code import DummyEvaluator, PythonEvaluator
        from sismic.interpreter import Interpreter

        data = DATA_SHAPES.get(factory.name)
        if data is not None:
            initial = dict(data.data)

            def create_with_data() -> Any:
                interpreter = Interpreter(factory, evaluator_klass=PythonEvaluator,
                                          initial_context=initial)
                interpreter.execute_once()
                return interpreter

            return create_with_data

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

    def bind_data(self, instance: Any) -> Callable[[str, Payload], object]:
        queue = instance.queue
        execute_once = instance.execute_once

        def send(event: str, payload: Payload) -> object:
            queue(event, **payload)
            return execute_once()

        return send

    def run_data(self, instance: Any, stream: Sequence[tuple[str, Payload]]) -> None:
        queue = instance.queue
        execute_once = instance.execute_once
        for event, payload in stream:
            queue(event, **payload)
            execute_once()

    def data(self, instance: Any, keys: Sequence[str]) -> dict[str, int]:
        context = instance.context
        return {key: context[key] for key in keys}

    def leaves(self, instance: Any) -> frozenset[str]:
        return frozenset(instance.configuration) - self._composites
