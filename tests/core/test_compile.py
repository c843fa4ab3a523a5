"""Invalid charts fail at definition time, naming the state and the reason."""

from __future__ import annotations

import warnings
from datetime import timedelta

import pytest

from statekeeper import (
    Chart,
    ChartError,
    ChartWarning,
    Final,
    History,
    Parallel,
    State,
    Transition,
    UnboundName,
    compile_chart,
)
from statekeeper.core import parse_duration


def test_unknown_target_suggests_the_closest_state() -> None:
    chart = Chart("order", states={
        "placed": State(on={"submit": "ofered"}), "offered": Final(),
    })
    with pytest.raises(ChartError) as info:
        compile_chart(chart)
    assert info.value.state == "placed"
    assert "did you mean 'offered'" in str(info.value)


def test_duplicate_ids_are_refused() -> None:
    chart = Chart("dup", states={
        "a": State(states={"x": State(on={"go": "b"})}),
        "b": State(states={"x": Final()}),
    })
    with pytest.raises(ChartError, match="duplicate") as info:
        compile_chart(chart)
    assert info.value.state == "x"


def test_initial_must_be_a_child() -> None:
    chart = Chart("c", states={
        "a": State(initial="b", states={"x": State(on={"go": "b"})}),
        "b": Final(),
    })
    with pytest.raises(ChartError, match="initial 'b' is not a descendant"):
        compile_chart(chart)


def test_unknown_initial_is_refused() -> None:
    with pytest.raises(ChartError, match="unknown target 'nope'"):
        compile_chart(Chart("c", initial="nope", states={"a": Final()}))


def test_final_state_cannot_have_transitions() -> None:
    chart = Chart("c", states={"a": State(on={"go": "b"}), "b": Final(on={"back": "a"})})
    with pytest.raises(ChartError, match="final state cannot have transitions") as info:
        compile_chart(chart)
    assert info.value.state == "b"


def test_history_needs_a_compound_parent() -> None:
    chart = Chart("c", states={"h": History(), "a": Final()})
    with pytest.raises(ChartError, match="history"):
        compile_chart(chart)


def test_unbound_guard_names_what_is_missing() -> None:
    chart = Chart("c", states={
        "a": State(on={"go": Transition("b", cond="is_ready")}), "b": Final(),
    })
    with pytest.raises(UnboundName, match="is_ready") as info:
        compile_chart(chart)
    assert info.value.state == "a"
    compile_chart(chart, guards={"is_ready": lambda data, event: True})


def test_python_datamodel_needs_trust() -> None:
    chart = Chart("c", datamodel="python", states={"a": Final()})
    with pytest.raises(ChartError, match="trusted=True"):
        compile_chart(chart)
    compile_chart(chart, trusted=True)


def test_unknown_datamodel_is_refused() -> None:
    with pytest.raises(ChartError, match="unknown datamodel"):
        compile_chart(Chart("c", datamodel="lua", states={"a": Final()}))


def test_bad_after_delay_names_the_state() -> None:
    chart = Chart("c", states={"a": State(after={"soon": "b"}), "b": Final()})
    with pytest.raises(ChartError, match="not a duration") as info:
        compile_chart(chart)
    assert info.value.state == "a"


def test_unreachable_and_trap_states_warn_or_fail() -> None:
    chart = Chart("c", states={
        "a": State(on={"go": "trap"}), "trap": State(), "island": Final(),
    })
    with pytest.warns(ChartWarning) as record:
        compile_chart(chart)
    messages = " ".join(str(w.message) for w in record)
    assert "'island'" in messages and "unreachable" in messages
    assert "'trap'" in messages and "no way out" in messages
    with pytest.raises(ChartError, match="unreachable"):
        compile_chart(chart, checks="error")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compile_chart(chart, checks="ignore")


def test_parallel_regions_are_not_traps() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compile_chart(Chart("c", states={"p": Parallel(states={
            "r1": State(states={"x": State(on={"go": "y"}), "y": Final()}),
            "r2": State(states={"z": Final()}),
        }), }), checks="ignore")


def test_bad_state_arguments() -> None:
    with pytest.raises(ChartError, match="not a State"):
        Chart("c", states={"a": "b"})  # type: ignore[dict-item]
    with pytest.raises(ChartError, match="needs an id"):
        Chart("c", states=[State()])
    with pytest.raises(ChartError, match="non-empty"):
        Chart("", states={"a": Final()})
    with pytest.raises(ChartError, match="no states"):
        compile_chart(Chart("c"))
    with pytest.raises(ChartError, match="transition type"):
        Transition("a", type="sideways")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Chart"):
        compile_chart({"name": "c"})  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "seconds"), [
    ("5m", 300.0), ("1.5s", 1.5), ("250ms", 0.25), ("1d", 86400.0), ("1h30m", 5400.0),
    ("2", 2.0), (3, 3.0), (timedelta(minutes=2), 120.0), (".5s", 0.5),
])
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "soon", "5 parsecs", "-1s", -3, True, None])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)  # type: ignore[arg-type]


def test_hash_is_stable_and_structural() -> None:
    def make(target: str) -> Chart:
        return Chart("c", states={"a": State(on={"go": target}), "b": Final(), "z": Final()})

    assert compile_chart(make("b"), checks="ignore").hash == compile_chart(
        make("b"), checks="ignore").hash
    assert compile_chart(make("b"), checks="ignore").hash != compile_chart(
        make("z"), checks="ignore").hash
