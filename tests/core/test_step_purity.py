"""The step is pure in fact: guards, expressions and listeners change data only through assigns.

Guards used to receive a shallow read-only view: a guard could append to a list inside the
data, the change was kept although the event was rejected, and the next commit stored it.
Now every container a guard or expression can reach is a read-only view, and a rejected event
leaves the machine exactly as it was.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from statekeeper import (
    Assign,
    AsyncMachine,
    Call,
    Chart,
    Effect,
    EventNotAccepted,
    Final,
    Machine,
    State,
    Transition,
    compile_chart,
)
from statekeeper.io.scxml import load_scxml

ORDER = {"order": {"items": [{"sku": "a", "tags": ["new"]}], "total": 5}, "n": 1}


def _mutate(data: Any, event: Any) -> bool:
    """Every way a careless guard writes into what it reads; true if one got through."""
    attempts: list[Callable[[], Any]] = [
        lambda: data["order"]["items"].append({"sku": "evil"}),
        lambda: data["order"]["items"][0].update(sku="evil"),
        lambda: data["order"]["items"][0]["tags"].append("evil"),
        lambda: data["order"].__setitem__("total", 0),
        lambda: data["order"].pop("total"),
        lambda: data["order"]["items"].clear(),
        lambda: data["order"]["items"].sort(),
        lambda: next(v for v in data["order"].values() if not isinstance(v, int)).append(1),
        lambda: next(iter(data["order"]["items"]))["tags"].append("evil"),
        lambda: dict(data)["order"].__setitem__("total", -1),
        lambda: (data | {})["order"]["items"].append("evil"),
        lambda: data.get("order")["items"].append("evil"),
        lambda: data["order"]["items"][0:1][0]["tags"].append("evil"),
    ]
    if event is not None and isinstance(event.data, dict):
        attempts.append(lambda: event.data["lines"].append("evil"))
    written = False
    for attempt in attempts:
        try:
            attempt()
        except (TypeError, AttributeError):
            continue
        written = True
    return written


def _chart(guard_result: bool) -> Chart:
    return Chart("shop", initial="open", states={
        "open": State(on={
            "check": Transition("done", cond="sneaky"),
            "touch": Transition(actions=[Assign("n", expr="bump")]),
        }),
        "done": Final(),
    }, data=copy.deepcopy(ORDER))


def _bindings(guard_result: bool) -> dict[str, Any]:
    def sneaky(data: Any, event: Any) -> bool:
        _mutate(data, event)
        return guard_result

    return {"guards": {"sneaky": sneaky},
            "functions": {"bump": lambda data, event: data["n"] + 1}}


def test_a_guard_cannot_write_into_nested_data_of_a_rejected_event() -> None:
    compiled = compile_chart(_chart(False), **_bindings(False))
    machine = Machine(compiled)
    payload = {"lines": ["x"]}
    with pytest.raises(EventNotAccepted):
        machine.send("check", payload)
    assert machine.data == ORDER
    assert payload == {"lines": ["x"]}  # nor into the caller's payload
    machine.send("touch")
    assert machine.data == {**ORDER, "n": 2}


def test_a_guard_that_accepts_still_cannot_write() -> None:
    compiled = compile_chart(_chart(True), **_bindings(True))
    machine = Machine(compiled)
    machine.send("check", {"lines": []})
    assert machine.configuration == ("done",)
    assert machine.data == ORDER


def test_every_mutation_attempt_is_refused() -> None:
    seen: list[bool] = []

    def sneaky(data: Any, event: Any) -> bool:
        seen.append(_mutate(data, event))
        mine = data.copy()  # a deep copy is the guard's own to change
        mine["order"]["items"].append("mine")
        return False

    compiled = compile_chart(_chart(False), guards={"sneaky": sneaky},
                             functions={"bump": lambda d, e: 0})
    with pytest.raises(EventNotAccepted):
        Machine(compiled).send("check", {"lines": []})
    assert seen == [False]


def test_an_async_machine_keeps_its_data_after_a_rejected_event() -> None:
    compiled = compile_chart(_chart(False), **_bindings(False))

    async def run() -> None:
        machine = AsyncMachine(compiled)
        with pytest.raises(EventNotAccepted):
            await machine.send("check")
        assert machine.data == ORDER

    asyncio.run(run())


def test_expressions_and_functions_compute_without_writing() -> None:
    def total(data: Any, event: Any) -> Any:
        data["order"]["items"].append("evil")  # refused: error.execution, nothing written
        return 1

    def whole(data: Any, event: Any) -> Any:
        # what a function returns is taken as plain data again, nested views included
        return {**data, "copy": data["order"]["items"], "n": data["n"] + 1}

    def args(data: Any, event: Any) -> Any:
        return {"items": data["order"]["items"]}

    calls: list[Any] = []
    chart = Chart("calc", initial="a", states={
        "a": State(on={
            "bad": Transition(actions=[Assign("total", expr="total")]),
            "all": Transition(actions=[Call("whole")]),
            "pay": Transition(actions=[Effect("charge", argsexpr="args")]),
        }),
    }, data=copy.deepcopy(ORDER))
    compiled = compile_chart(chart, functions={"total": total, "whole": whole, "args": args})
    machine = Machine(compiled, effects={"charge": lambda a, key: calls.append(a)})
    machine.send("bad")
    assert machine.data == ORDER
    machine.send("all")
    assert machine.data == {**ORDER, "copy": ORDER["order"]["items"], "n": 2}  # type: ignore[index]
    stored = machine.snapshot.data  # machine.data is a read-only view of it (SEM-22)
    assert type(stored["copy"]) is list and type(stored["copy"][0]) is dict
    machine.send("pay")
    assert calls == [{"items": ORDER["order"]["items"]}]  # type: ignore[index]
    assert type(calls[0]["items"]) is list


def test_a_function_returning_the_data_it_was_given_keeps_it() -> None:
    chart = Chart("same", initial="a", states={
        "a": State(on={"go": Transition(actions=[Call("same")])}),
    }, data={"x": [1]})
    compiled = compile_chart(chart, functions={"same": lambda data, event: data})
    machine = Machine(compiled)
    machine.send("go")
    assert machine.data == {"x": [1]}


def test_listeners_receive_immutable_microsteps() -> None:
    seen: list[Any] = []
    compiled = compile_chart(_chart(True), **_bindings(True))
    machine = Machine(compiled, listeners=[seen.append])
    machine.send("check")
    for micro in seen:
        for value in (micro.transitions, micro.exited, micro.entered, micro.configuration):
            assert isinstance(value, tuple)
    assert machine.data == ORDER


SCXML = """<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="python"
  initial="a">
  <datamodel><data id="items" expr="[[1], [2]]"/></datamodel>
  <state id="a">
    <transition event="go" cond="items[0].append(9) or items.append(3) or False" target="b"/>
    <transition event="peek" cond="len(items) == 2 and items[0] == [1]" target="b"/>
  </state>
  <final id="b"/>
</scxml>"""


def test_python_conditions_cannot_write_either() -> None:
    machine = Machine(load_scxml(SCXML, trusted=True))
    machine.send("go")  # the failing condition is false and raises error.execution (SCXML)
    assert machine.configuration == ("a",)
    assert machine.data["items"] == [[1], [2]]
    machine.send("peek")  # reading works as before: comparisons, len, indexing
    assert machine.configuration == ("b",)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=20,
)


def _poke(view: Any) -> int:
    """Try to write into every container reachable from ``view``; count what got through."""
    written = 0
    if isinstance(view, (str, bytes)) or not hasattr(view, "__iter__"):
        return 0
    for name, args in (("append", (1,)), ("clear", ()), ("pop", ()), ("update", ({},)),
                       ("__setitem__", (0, 1)), ("__delitem__", (0,)), ("extend", ([1],)),
                       ("insert", (0, 1)), ("popitem", ()), ("setdefault", ("k", 1))):
        method = getattr(view, name, None)
        if method is None:
            continue
        try:
            method(*args)
        except (TypeError, AttributeError):
            continue
        except (KeyError, IndexError):  # reached the container: the write was allowed
            pass
        written += 1
    children = view.values() if hasattr(view, "values") else view
    return written + sum(_poke(child) for child in children)


@settings(max_examples=60, deadline=None)
@given(data=st.dictionaries(st.text(max_size=4).filter(str.isidentifier), JSONISH, max_size=4),
       payload=JSONISH)
def test_no_container_a_guard_reaches_is_writable(data: dict[str, Any], payload: Any) -> None:
    found: list[int] = []

    def probe(view: Any, event: Any) -> bool:
        found.append(_poke(view) + _poke(event.data))
        assert view == data and event.data == payload  # views compare equal to what they show
        return False

    chart = Chart("probe", initial="a", states={
        "a": State(on={"go": Transition("b", cond="probe")}), "b": Final()})
    compiled = compile_chart(chart, guards={"probe": probe})
    before, sent = copy.deepcopy(data), copy.deepcopy(payload)
    machine = Machine(compiled, data=data)
    with pytest.raises(EventNotAccepted):
        machine.send("go", payload)
    assert found == [0]
    assert machine.data == before and data == before and payload == sent
