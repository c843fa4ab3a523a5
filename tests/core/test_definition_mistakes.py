"""Natural mistakes in a chart written in Python fail at compile time with a ChartError.

Each case is a slip a user makes when writing charts by hand (a chart where a ``Content`` is
expected, one item where a sequence is expected, a literal where an expression is expected).
Before, some of these surfaced as an ``AttributeError`` or ``TypeError`` from deep inside the
compiler; each must name the state and say what to write instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from statekeeper import (
    Assign,
    Call,
    Cancel,
    Chart,
    ChartError,
    Content,
    Final,
    Foreach,
    If,
    Invoke,
    Machine,
    Raise,
    Send,
    State,
    Transition,
    compile_chart,
)

CHILD = Chart("child", initial="a", states={"a": State(on={"x": "b"}), "b": State()})


def in_state(**state: Any) -> Chart:
    """A chart whose state ``s`` is built from ``state``; ``t`` is a plain target."""
    return Chart("mistakes", initial="s", states={"s": State(**state), "t": Final()})


MISTAKES: dict[str, tuple[Callable[[], Chart], str]] = {
    "a chart as invoke content": (
        lambda: in_state(invoke=[Invoke(content=CHILD)]),  # type: ignore[arg-type]
        r"Content\(value=",
    ),
    "a string as send content": (
        lambda: in_state(entry=[Send(event="x", content="hi")]),  # type: ignore[arg-type]
        r"Content\(value=",
    ),
    "a tuple as a param": (
        lambda: in_state(invoke=[Invoke(content=Content(value=CHILD),
                                        params=[("a", 1)])]),  # type: ignore[list-item]
        r"Param\(",
    ),
    "a string as a namelist": (
        lambda: in_state(entry=[Send(event="x", namelist="a b")]),  # type: ignore[arg-type]
        r"namelist.*\('a', 'b'\)",
    ),
    "a literal as an assign expression": (
        lambda: in_state(entry=[Assign("x", 1)]),  # type: ignore[arg-type]
        r"value=1",
    ),
    "a literal as a guard": (
        lambda: in_state(on={"go": Transition("t", cond=True)}),  # type: ignore[arg-type]
        r"cond",
    ),
    "something else as an invoke": (
        lambda: in_state(invoke=["child"]),  # type: ignore[list-item]
        r"Invoke\(",
    ),
}


#: mistakes seen while a State or Transition is built, before its parent gives it an id: the
#: error has no state, but it still says what is wrong at definition time
EARLY: dict[str, tuple[Callable[[], Any], str]] = {
    "a State as a transition target": (
        lambda: Transition(State()),  # type: ignore[arg-type]
        r"target.*state id",
    ),
    "a number as an event": (
        lambda: State(on={5: "t"}),  # type: ignore[dict-item]
        r"event.*5",
    ),
    "a number as ignore": (
        lambda: State(ignore=5),  # type: ignore[arg-type]
        r"ignore",
    ),
    "a number as a state's initial": (
        lambda: State(initial=5, states={"a": State()}),  # type: ignore[arg-type]
        r"initial",
    ),
    "a number as a chart's initial": (
        lambda: Chart("c", initial=5, states={"a": State()}),  # type: ignore[arg-type]
        r"initial",
    ),
    "names as data items": (
        lambda: State(data=["x"]),
        r"DataItem",
    ),
    "a dict as donedata": (
        lambda: Final(donedata={"x": 1}),
        r"DoneData",
    ),
    "an If branch that is not a pair": (
        lambda: If([Assign("x", value=1)]),  # type: ignore[list-item]
        r"\(cond, actions\)",
    ),
}


@pytest.mark.parametrize("name", sorted(EARLY))
def test_a_malformed_part_is_a_chart_error_when_it_is_built(name: str) -> None:
    build, reason = EARLY[name]
    with pytest.raises(ChartError, match=reason):
        build()


#: literal values that can never work are refused at compile time, not when the step runs
MISTAKES |= {
    "a number as a raised event": (lambda: in_state(entry=[Raise(5)]), r"event"),  # type: ignore[arg-type]
    "a number as a sent event": (lambda: in_state(entry=[Send(event=5)]), r"event"),  # type: ignore[arg-type]
    "an empty sent event": (lambda: in_state(entry=[Send(event="")]), r"event"),
    "a number as a cancelled id": (lambda: in_state(entry=[Cancel(sendid=5)]), r"sendid"),  # type: ignore[arg-type]
    "a cancel of nothing": (lambda: in_state(entry=[Cancel()]), r"sendid"),
    "a delay that is no duration": (
        lambda: in_state(entry=[Send(event="x", delay="soon")]), r"not a duration"),
    "a negative delay": (lambda: in_state(entry=[Send(event="x", delay=-5)]), r"non-negative"),
}


def test_one_action_may_be_given_alone_in_an_if_branch_and_a_foreach() -> None:
    chart = compile_chart(in_state(
        on={"go": "t"}, data={"xs": [1, 2], "n": 0, "seen": None},
        entry=[If([("!never", Assign("seen", value="if"))]),
               Foreach("items", "i", actions=Call("count"))],
    ), guards={"never": lambda data, event: False},
        functions={"items": lambda data, event: data["xs"],
                   "count": lambda data, event: {**data, "n": data["n"] + 1}})
    assert Machine(chart).data == {"xs": [1, 2], "n": 2, "seen": "if", "i": 2}


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_a_mistake_is_a_chart_error_naming_the_state(name: str) -> None:
    build, reason = MISTAKES[name]
    with pytest.raises(ChartError, match=reason) as info:
        compile_chart(build())
    assert info.value.state == "s", str(info.value)


def test_one_invoke_may_be_given_without_a_list_like_one_action() -> None:
    kid = Invoke(id="kid", content=Content(value=CHILD))
    assert State(invoke=kid).invoke == (kid,)
    machine = Machine(compile_chart(in_state(invoke=kid, on={"done.invoke.kid": "t"})))
    assert "kid" in machine.snapshot.invokes
