"""The planned step (core/_plans.py) equals the reference: SCXML's algorithm run whole.

A chart compiled as usual steps through its plans; the same chart with ``plans = None`` runs
the algorithm of the recommendation on every microstep.  On generated charts with guards over
data and payloads, ``In()``, assigns, raised and sent events, eventless, ``done.state`` and
history transitions, both must produce the same snapshot (configuration, data, history,
timers), commands and microsteps at every step, with cold caches, warm caches and caches too
small to hold anything for long.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from property_drivers import machine_run

from statekeeper import (
    Chart,
    History,
    Machine,
    Parallel,
    State,
    Transition,
    VirtualClock,
    compile_chart,
)
from statekeeper.core._plans import MAX_STATES, StepPlans
from statekeeper.core.actions import Assign
from statekeeper.core.compile import CompiledChart
from statekeeper.core.step import initial_step, step
from statekeeper.testing.reference import SESSION, PureRun, run_pure
from statekeeper.testing.strategies import GeneratedChart, Step, chart_runs, suite_settings

PROPERTY = suite_settings()
Case = tuple[GeneratedChart, list[Step]]


def cases() -> st.SearchStrategy[Case]:
    """Generated charts whose guards and assigns read event payloads too, with sequences."""
    return chart_runs(payloads=True)


def _reference(generated: GeneratedChart) -> CompiledChart:
    chart = generated.compile()
    chart.plans = None
    return chart


def _assert_same_run(planned: PureRun, reference: PureRun) -> None:
    assert planned.first == reference.first
    assert planned.start == reference.start
    assert len(planned.records) == len(reference.records)
    for got, want in zip(planned.records, reference.records, strict=True):
        # every step of the item: snapshot, commands, microsteps, status, staticness
        assert got.results == want.results, f"after {got.item!r}"
        assert (got.status, got.snapshot) == (want.status, want.snapshot), f"after {got.item!r}"


@PROPERTY
@given(cases())
def test_planned_steps_equal_the_reference_steps(case: Case) -> None:
    generated, items = case
    reference = run_pure(_reference(generated), items)
    chart = generated.compile()
    _assert_same_run(run_pure(chart, items), reference)  # plans made on the way
    _assert_same_run(run_pure(chart, items), reference)  # every plan found made


@PROPERTY
@given(cases())
def test_caches_too_small_to_keep_anything_change_nothing(case: Case) -> None:
    generated, items = case
    reference = run_pure(_reference(generated), items)
    chart = generated.compile()
    # two entries per cache, and configurations of more than three states not planned: plans
    # are dropped all the time and microsteps of one step mix planned and unplanned ones
    chart.plans = StepPlans(chart, max_states=3, max_entries=2)
    _assert_same_run(run_pure(chart, items), reference)
    _assert_same_run(run_pure(chart, items), reference)
    assert all(size <= 2 for size in chart.plans.sizes().values())


@PROPERTY
@given(cases())
def test_a_machine_on_plans_follows_the_reference_step(case: Case) -> None:
    generated, items = case
    reference = run_pure(_reference(generated), items)
    chart = generated.compile()
    for _ in range(2):
        clock = VirtualClock()
        machine = Machine(chart, session=SESSION, clock=clock)
        assert machine.snapshot == reference.start
        for item, want in zip(items, reference.records, strict=True):
            got = machine_run(machine, clock, item)
            assert got.status == want.status, f"{item!r}"
            assert got.snapshot == want.snapshot.to_dict(), f"after {item!r}"
            if got.outcome is not None:
                assert got.outcome.microsteps == want.results[0].microsteps
        machine.close()


def _ring(size: int) -> CompiledChart:
    return compile_chart(Chart("ring", data={"n": 0}, states={
        f"s{i}": State(on={"next": Transition(f"s{(i + 1) % size}", cond="small",
                                              actions=(Assign("n", expr="inc"),))})
        for i in range(size)
    }), guards={"small": lambda d, e: d["n"] < 10_000},
        functions={"inc": lambda d, e: d["n"] + 1})


def test_plan_caches_stay_within_their_bound() -> None:
    chart = _ring(40)
    chart.plans = StepPlans(chart, max_entries=8)
    machine = Machine(chart)
    for _ in range(200):
        machine.send("next")
    assert machine.configuration == ("s0",)
    assert machine.data["n"] == 200
    assert all(size <= 8 for size in chart.plans.sizes().values())


def test_a_configuration_too_wide_is_stepped_without_plans() -> None:
    regions = MAX_STATES  # each region is two states in the configuration
    chart = compile_chart(Chart("wide", data={"n": 0}, states={"p": Parallel(states={
        f"r{i}": State(initial=f"a{i}", states={
            f"a{i}": State(on={"go": Transition(f"b{i}", cond="In(p)")}),
            f"b{i}": State(),
        }) for i in range(regions)
    })}))
    assert chart.plans is not None
    first = initial_step(chart)
    assert len(first.snapshot.configuration) > MAX_STATES
    before = chart.plans.sizes()  # the start's plan: from no configuration at all
    after = step(chart, first.snapshot, "go")
    assert {f"b{i}" for i in range(regions)} <= set(after.snapshot.configuration)
    assert chart.plans.known(after.snapshot.configuration) is None
    assert chart.plans.sizes() == before


def _history_chart(*, planned: bool) -> CompiledChart:
    chart = compile_chart(Chart("history", initial="Q", data={"n": 0}, states={
        "P": State(initial="a", states={
            "a": State(on={"next": "b"}),
            "b": State(on={"next": "c"}),
            "c": State(initial="c1", states={"c1": State(on={"next": "c2"}), "c2": State()}),
            "h": History("shallow", default=Transition("b", actions=(Assign("n", expr="inc"),))),
            "hd": History("deep"),
        }, on={"back": "h", "deep": "hd", "out": "Q"}),
        "Q": State(on={"in": "h", "ind": "hd"}),
    }), functions={"inc": lambda d, e: d["n"] + 1}, checks="ignore")
    if not planned:
        chart.plans = None
    return chart


def test_history_recorded_and_read_in_one_microstep_matches_the_reference() -> None:
    # "back" leaves P (recording its history) and enters P's history in the same microstep;
    # "in" from Q enters it before anything was recorded (its default content runs); the
    # deep history returns into the nested state last left.
    items: list[Step] = ["in", "next", "back", "next", "next", "out", "in", "next", "out",
                         "ind", "deep", "back", "out", "ind", "back"]
    reference = run_pure(_history_chart(planned=False), items)
    chart = _history_chart(planned=True)
    _assert_same_run(run_pure(chart, items), reference)
    _assert_same_run(run_pure(chart, items), reference)
    shown = [r.snapshot.configuration for r in reference.records]
    assert shown[0] == ("P", "b")  # the default, its content run once and never again
    assert reference.records[-1].snapshot.data["n"] == 1
    assert shown[2] == ("P", "c", "c1")  # back into c, recorded in the same microstep
    assert shown[9] == ("P", "c", "c2")  # the deep history: into the nested state left
