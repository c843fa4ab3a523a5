"""The wide shape in every library that can express it: one parallel state of N regions.

Region ``i`` is a compound of ``a<i>``, ``b<i>`` and ``c<i>``: the shared event ``tick``
moves every region one step round the ring (``a -> b -> c -> a``) and the event ``e<i>``
moves region ``i`` alone from ``a<i>`` to ``c<i>``.  Each builder returns ``(factory,
start, send, leaves)``: the machine defined once, a zero-argument constructor of an
instance in its initial configuration, ``send(instance, event)``, and the instance's active
leaves under their plain names.  automat has no hierarchical or parallel states, so it has
no builder here.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

__all__ = ["BUILDERS", "NOT_EXPRESSIBLE", "expected_leaves"]

Built = tuple[Any, Callable[[], Any], Callable[[Any, str], object], Callable[[Any], frozenset[str]]]

#: libraries of the dispatch benchmark that cannot express the shape, and why
NOT_EXPRESSIBLE = {"automat": "automat machines are flat: no parallel regions"}


def expected_leaves(regions: int, events: tuple[str, ...]) -> frozenset[str]:
    """The reference model: the active leaves after ``events`` from the initial configuration."""
    at = [0] * regions  # 0, 1, 2 for a, b, c
    for event in events:
        if event == "tick":
            at = [(k + 1) % 3 for k in at]
        else:
            i = int(event[1:])
            if at[i] == 0:
                at[i] = 2
    return frozenset(f"{'abc'[k]}{i}" for i, k in enumerate(at))


def _statekeeper(regions: int) -> Built:
    from statekeeper import Chart, Machine, Parallel, State, compile_chart
    from statekeeper.core.limits import Limits

    states = {f"r{i}": State(states={
        f"a{i}": State(on={"tick": f"b{i}", f"e{i}": f"c{i}"}),
        f"b{i}": State(on={"tick": f"c{i}"}),
        f"c{i}": State(on={"tick": f"a{i}"}),
    }) for i in range(regions)}
    size = 4 * regions + 10
    chart = compile_chart(Chart("wide", states={"p": Parallel(states=states)}),
                          limits=Limits(max_states=size, max_transitions=size))

    def start() -> Any:
        chart.memo.clear()  # time the step, not a memoised outcome of an earlier repeat
        return Machine(chart)

    def send(machine: Any, event: str) -> object:
        chart.memo.clear()
        return machine.send(event)

    def leaves(machine: Any) -> frozenset[str]:
        return frozenset(s for s in machine.configuration if s[0] in "abc")

    return chart, start, send, leaves


def _python_statemachine(regions: int) -> Built:
    from statemachine import State, StateChart

    def region(i: int) -> type:
        def body(ns: dict[str, Any]) -> None:
            a, b, c = State(initial=True), State(), State()
            ns.update({f"a{i}": a, f"b{i}": b, f"c{i}": c})
            ns["tick"] = a.to(b) | b.to(c) | c.to(a)
            ns[f"e{i}"] = a.to(c)
        return types.new_class(f"r{i}", (State.Compound,), exec_body=body)

    parallel = types.new_class("p", (State.Parallel,), exec_body=lambda ns: ns.update(
        {f"r{i}": region(i) for i in range(regions)}))
    chart = types.new_class("Wide", (StateChart[Any],), exec_body=lambda ns: ns.update(
        {"p": parallel}))

    def leaves(sm: Any) -> frozenset[str]:
        return frozenset(state.id for state in sm.configuration if state.is_atomic)

    return chart, chart, lambda sm, event: sm.send(event), leaves


def _sismic(regions: int) -> Built:
    from sismic.code import DummyEvaluator
    from sismic.interpreter import Interpreter
    from sismic.model import BasicState, CompoundState, OrthogonalState, Statechart, Transition

    chart = Statechart("wide")
    chart.add_state(CompoundState("root", initial="p"), None)
    chart.add_state(OrthogonalState("p"), "root")
    for i in range(regions):
        a, b, c = f"a{i}", f"b{i}", f"c{i}"
        chart.add_state(CompoundState(f"r{i}", initial=a), "p")
        for name in (a, b, c):
            chart.add_state(BasicState(name), f"r{i}")
        for source, target, event in ((a, b, "tick"), (b, c, "tick"), (c, a, "tick"),
                                      (a, c, f"e{i}")):
            chart.add_transition(Transition(source, target, event=event))
    chart.validate()

    def start() -> Any:
        interpreter = Interpreter(chart, evaluator_klass=DummyEvaluator)
        interpreter.execute_once()
        return interpreter

    def send(interpreter: Any, event: str) -> object:
        interpreter.queue(event)
        return interpreter.execute_once()

    def leaves(interpreter: Any) -> frozenset[str]:
        return frozenset(s for s in interpreter.configuration if s[0] in "abc")

    return chart, start, send, leaves


def _xstate(regions: int) -> Built:
    from xstate_statemachine import SyncInterpreter, create_machine

    states = {f"r{i}": {"initial": f"a{i}", "states": {
        f"a{i}": {"on": {"tick": f"b{i}", f"e{i}": f"c{i}"}},
        f"b{i}": {"on": {"tick": f"c{i}"}},
        f"c{i}": {"on": {"tick": f"a{i}"}},
    }} for i in range(regions)}
    machine = create_machine({"id": "wide", "initial": "p", "states": {
        "p": {"type": "parallel", "states": states}}})

    def leaves(interpreter: Any) -> frozenset[str]:
        return frozenset(sid.rsplit(".", 1)[-1] for sid in interpreter.current_state_ids)

    return (machine, lambda: SyncInterpreter(machine).start(),
            lambda interpreter, event: interpreter.send(event), leaves)


class _Model:
    """The plain object transitions decorates with ``state`` and trigger methods."""


def _transitions(regions: int) -> Built:
    from transitions.extensions import HierarchicalMachine

    states = [{"name": "p", "parallel": [{
        "name": f"r{i}", "initial": f"a{i}", "children": [f"a{i}", f"b{i}", f"c{i}"],
        "transitions": [["tick", f"a{i}", f"b{i}"], ["tick", f"b{i}", f"c{i}"],
                        ["tick", f"c{i}", f"a{i}"], [f"e{i}", f"a{i}", f"c{i}"]],
    } for i in range(regions)]}]
    machine = HierarchicalMachine(model=None, states=states, initial="p",
                                  auto_transitions=False)

    def start() -> Any:
        model = _Model()
        machine.models[:] = []  # one live model: add_model scans the list
        machine.add_model(model)
        return model

    def flatten(state: Any) -> list[str]:
        return [state] if isinstance(state, str) else [leaf for s in state for leaf in flatten(s)]

    def leaves(model: Any) -> frozenset[str]:
        return frozenset(name.rsplit("_", 1)[-1] for name in flatten(model.state))

    return machine, start, lambda model, event: model.trigger(event), leaves


#: library -> builder of the wide shape with N regions
BUILDERS: dict[str, Callable[[int], Built]] = {
    "statekeeper": _statekeeper,
    "python-statemachine": _python_statemachine,
    "sismic": _sismic,
    "xstate-statemachine": _xstate,
    "transitions": _transitions,
}
