"""Charts built in Python that are impossible or huge fail at compile time with a named error.

Issue 15 found raw ``AssertionError``, ``IndexError``, ``OverflowError`` and ``RecursionError``
escaping from deep inside the library; each case here must be a ``ChartError`` (or
``LimitExceeded``) naming the state and what to write instead.
"""

from __future__ import annotations

import pytest

from statekeeper import (
    Chart,
    ChartError,
    Final,
    History,
    LimitExceeded,
    Limits,
    State,
    compile_chart,
)
from statekeeper.core.durations import parse_duration


def test_a_final_state_with_children_is_refused() -> None:
    chart = Chart("x", states={"f": State(kind="final", states={"g": State()})})
    with pytest.raises(ChartError, match="final state cannot have child states") as info:
        compile_chart(chart)
    assert info.value.state == "f"


def test_a_compound_state_holding_only_a_history_state_is_refused() -> None:
    chart = Chart("x", states={"c": State(states={"h": History()}, on={"e": "c"})})
    with pytest.raises(ChartError, match="only a history state") as info:
        compile_chart(chart)
    assert info.value.state == "c"
    deep = Chart("x", states={"c": State(states={"h": History(type="deep")}), "d": Final()})
    with pytest.raises(ChartError, match="add a child state"):
        compile_chart(deep)


@pytest.mark.parametrize("delay", [10**400, "9" * 400 + "d", 1e308, float("inf"), "1e999s"],
                         ids=["int", "text", "float", "inf", "exponent"])
def test_a_huge_duration_is_a_value_error_not_an_overflow(delay: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(delay)  # type: ignore[arg-type]


def test_a_huge_after_delay_names_the_state() -> None:
    chart = Chart("x", states={"a": State(after={10**400: "b"}), "b": Final()})
    with pytest.raises(ChartError, match="after") as info:
        compile_chart(chart)
    assert info.value.state == "a"


def nested(depth: int) -> Chart:
    state = State()
    for level in range(depth, 0, -1):
        state = State(states={f"s{level}": state})
    return Chart("deep", states={"top": state})


def test_deep_nesting_is_a_limit_not_a_recursion_error() -> None:
    with pytest.raises(LimitExceeded) as info:
        compile_chart(nested(1_000))
    assert info.value.limit == "max_depth"
    assert "s100" in str(info.value)  # the first state too deep (top is level 1)
    compile_chart(nested(40), checks="ignore")  # within the limit, as before


def test_the_number_of_states_and_transitions_is_bounded() -> None:
    chart = Chart("x", states={f"s{i}": State(on={"e": "s0", "f": "s1"}) for i in range(10)})
    with pytest.raises(LimitExceeded) as info:
        compile_chart(chart, limits=Limits(max_states=5))
    assert info.value.limit == "max_states"
    with pytest.raises(LimitExceeded) as info:
        compile_chart(chart, limits=Limits(max_transitions=19))
    assert info.value.limit == "max_transitions"
    compile_chart(chart, limits=Limits(max_states=10, max_transitions=20), checks="ignore")
