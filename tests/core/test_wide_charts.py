"""Wide charts (many parallel regions): the indexed step agrees with the SCXML pseudo-code.

The step precomputes transition domains, document-order spans and final children so that
one event costs time linear in the states it touches (docs/semantics.md, "Wide charts").  These tests
compare it, step by step (snapshots, commands, microsteps, statuses), with
:class:`naive_step.NaiveRun`, the recommendation's algorithm written out without indexes, on
generated charts with wide parallel states and on a hand-built wide chart using every
feature the indexes touch: conflicts and preemption, history, final regions and
``done.state``, ``In()``, effects in exit and entry actions.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import given
from naive_step import naive_initial_step, naive_step

from statekeeper import (
    Assign,
    Chart,
    Effect,
    Event,
    Final,
    History,
    Parallel,
    Snapshot,
    State,
    StepResult,
    Transition,
    compile_chart,
    initial_step,
    step,
)
from statekeeper.core.commands import RunEffect
from statekeeper.core.compile import CompiledChart
from statekeeper.core.limits import Limits
from statekeeper.testing.reference import SESSION, PureDriver, run_pure
from statekeeper.testing.strategies import Step, chart_runs, suite_settings


class IndexedDriver(PureDriver):
    """The reference driver; an effect is left unanswered (the results still show it)."""

    def carry_out(self, result: StepResult) -> None:
        super().carry_out(replace(result, commands=tuple(
            c for c in result.commands if not isinstance(c, RunEffect))))


class NaiveDriver(IndexedDriver):
    """The reference driver over the pseudo-code step instead of the indexed one."""

    @classmethod
    def start(cls, chart: CompiledChart) -> tuple[PureDriver, StepResult]:
        driver = cls(chart)
        first = naive_initial_step(chart, now=0.0, session=SESSION)
        driver.snapshot = first.snapshot
        driver.carry_out(first)
        driver.drain()
        return driver, first

    def step(self, snapshot: Snapshot, event: Event | str, timer: str | None = None) -> StepResult:
        return naive_step(self.chart, snapshot, event, now=self.now, timer=timer)


def assert_agree(chart: CompiledChart, items: list[Step]) -> None:
    indexed = run_pure(chart, items, IndexedDriver)
    naive = run_pure(chart, items, NaiveDriver)
    assert indexed.first == naive.first
    assert indexed.start == naive.start
    for ours, theirs in zip(indexed.records, naive.records, strict=True):
        assert ours.key() == theirs.key()


@suite_settings(max_examples=60)
@given(chart_runs(max_depth=3, max_states=30, max_children=7))
def test_the_step_agrees_with_the_pseudo_code_on_wide_generated_charts(
        case: tuple[Any, list[Step]]) -> None:
    generated, items = case
    assert_agree(generated.compile(), items)


@suite_settings(max_examples=60)
@given(chart_runs())
def test_the_step_agrees_with_the_pseudo_code_on_generated_charts(
        case: tuple[Any, list[Step]]) -> None:
    generated, items = case
    assert_agree(generated.compile(), items)


# --------------------------------------------------------------------------- a wide chart


def wide_chart(regions: int) -> Chart:
    """``regions`` regions, each a compound with history, a final state and a nested parallel.

    ``tick`` moves every region; ``e<i>`` moves one; ``leave<i>`` leaves the whole parallel
    from region ``i`` (it preempts every later region's transition on the same event);
    ``finish`` sends every region to its final state (``done.state.p`` follows); ``back``
    re-enters through each region's history, ``again`` through the nested parallel's.
    """
    states: dict[str, State] = {}
    for i in range(regions):
        states[f"r{i}"] = State(initial=f"a{i}", states={
            f"a{i}": State(on={"tick": f"b{i}", f"e{i}": f"c{i}",
                               "leave": Transition("out", cond=f"In(b{i})")},
                           entry=[Effect("touch", args={"at": f"a{i}"})]),
            f"b{i}": State(on={"tick": Transition(f"c{i}", actions=[Assign("n", expr="inc")]),
                               "leave": "out", f"e{i}": f"q{i}", "again": f"hc{i}"}),
            f"c{i}": Parallel(states={
                f"x{i}": State(states={f"x{i}a": State(on={"tick": f"x{i}b"}),
                                       f"x{i}b": State()}),
                f"y{i}": State(states={f"y{i}a": State(), f"y{i}b": State()}),
                f"hc{i}": History(),
            }, on={"tick": f"a{i}", "finish": f"q{i}"},
                exit=[Effect("left", args={"at": f"c{i}"})]),
            f"h{i}": History(type="deep" if i % 2 else "shallow"),
            f"q{i}": Final(),
        }, on={"finish": Transition(f"q{i}", type="internal")})
    return Chart("wide", initial="top", data={"n": 0}, states={
        "top": State(states={"p": Parallel(states=states)},
                     on={"done.state.p": "over"}),
        "out": State(on={"back": [f"h{i}" for i in range(0, regions, 3)] or "top"}),
        "over": State(on={"back": "top"}),
    })


def test_the_step_agrees_with_the_pseudo_code_on_a_wide_chart() -> None:
    chart = compile_chart(wide_chart(24), functions={"inc": lambda d, e: d["n"] + 1},
                          limits=Limits(max_states=5_000), checks="ignore")
    items: list[Step] = ["tick", "e3", "tick", "e5", "tick", "leave", "tick", "tick", "e2",
                         "leave", "back", "e7", "tick", "e1", "finish", "back", "tick", "tick",
                         "e4", "leave", "back", "tick", "e1", "tick", "e1", "tick", "tick",
                         "again", "tick", "tick", "tick", "again", "finish"]
    assert_agree(chart, items)


def test_a_wide_start_enters_every_region() -> None:
    chart = compile_chart(wide_chart(200), functions={"inc": lambda d, e: d["n"] + 1},
                          limits=Limits(max_states=5_000), checks="ignore")
    first = initial_step(chart)
    assert first == naive_initial_step(chart)
    assert sum(1 for s in first.snapshot.configuration if s.startswith("a")) == 200
    after = step(chart, first.snapshot, "tick")
    assert after == naive_step(chart, first.snapshot, "tick")
