"""An instance's life read from its log: time in the source states, and time in each state."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statekeeper.runtime.life import time_in_states, walk
from statekeeper.storage.records import TransitionRecord


def row(seq: int, at: float, source: tuple[str, ...], target: tuple[str, ...],
        outcome: Any = "applied", event: str = "go") -> TransitionRecord:
    return TransitionRecord(instance="i", seq=seq, event=event, source=source, target=target,
                            chart_version="1", outcome=outcome, at=at)


def test_parallel_regions_count_each_state_apart() -> None:
    log = [
        row(1, 0.0, (), ("p", "k.cook", "c.find")),
        row(2, 10.0, ("p", "k.cook", "c.find"), ("p", "k.ready", "c.find")),
        row(3, 25.0, ("p", "k.ready", "c.find"), ("p", "k.ready", "c.find"), "rejected"),
        row(4, 40.0, ("p", "k.ready", "c.find"), ("p", "k.ready", "c.go")),
    ]
    assert [s.in_source for s in walk(log)] == [None, 10.0, 15.0, 40.0]
    assert [(s.left, s.entered) for s in walk(log)][1:] == [
        (("k.cook",), ("k.ready",)), ((), ()), (("c.find",), ("c.go",))]
    assert time_in_states(log) == {"p": 40.0, "k.cook": 10.0, "c.find": 40.0, "k.ready": 30.0,
                                   "c.go": 0.0}
    assert time_in_states(log, now=100.0)["c.go"] == 60.0


def test_a_pruned_log_does_not_guess_what_it_lost() -> None:
    log = [row(7, 50.0, ("a",), ("b",)), row(8, 80.0, ("b",), ("c",))]
    assert [s.in_source for s in walk(log)] == [None, 30.0]
    assert time_in_states(log) == {"b": 30.0, "c": 0.0}  # "a" was entered at a lost time
    assert walk([]) == [] and time_in_states([]) == {}


def test_a_migration_moves_states_too() -> None:
    log = [row(1, 0.0, (), ("old",)), row(2, 5.0, ("old",), ("new",), "migrated",
                                           "statekeeper.migrate")]
    assert walk(log)[1].in_source == 5.0
    assert time_in_states(log, now=9.0) == {"old": 5.0, "new": 4.0}


@st.composite
def flat_logs(draw: st.DrawFn) -> list[TransitionRecord]:
    """A log of a flat chart (one state at a time), times rising, some events rejected."""
    state = draw(st.sampled_from("abc"))
    at = draw(st.floats(0, 1e6))
    log = [row(1, at, (), (state,))]
    for seq in range(2, draw(st.integers(1, 25)) + 1):
        at += draw(st.floats(0, 1e4))
        outcome = draw(st.sampled_from(["applied", "applied", "rejected", "ignored"]))
        target = draw(st.sampled_from("abc")) if outcome == "applied" else state
        log.append(row(seq, at, (state,), (target,), outcome))
        state = target
    return log


@given(flat_logs())
def test_a_flat_chart_spends_its_whole_life_in_its_states(log: list[TransitionRecord]) -> None:
    spent = time_in_states(log)
    assert sum(spent.values()) == pytest.approx(log[-1].at - log[0].at, abs=1e-6)
    changed = log[0].at
    for step in walk(log)[1:]:
        assert step.in_source == pytest.approx(step.row.at - changed, abs=1e-6)
        if step.left:
            changed = step.row.at
