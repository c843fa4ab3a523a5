"""The durable step (runtime/step_memo.py) equals the reference step, quick or not.

``memo_step`` takes the compiled plans' quick step for an instance that holds only its
configuration and data, the memo for a static step met before, and the reference step
otherwise.  Each step of generated charts (guards over data and payloads, ``In()``, assigns,
raised and sent events, eventless and history transitions, timers) is taken by ``memo_step``
on a registered twin and compared with ``step`` on a chart with ``plans = None`` (SCXML's
algorithm run whole), snapshot, status, microsteps and commands; and the durable benchmark's
chart runs through a real client on SQLite against its reference model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from statekeeper import Event, Snapshot, StepResult, compile_chart
from statekeeper.bench.adapters.lib_statekeeper import StatekeeperAdapter
from statekeeper.bench.data_shapes import DATA_SHAPES
from statekeeper.bench.durable_chart import BINDINGS, EVENT, amount, meter_chart
from statekeeper.bench.durable_chart_runs import run_sk_chart
from statekeeper.core.compile import CompiledChart
from statekeeper.core.events import as_event
from statekeeper.core.step import initial_step, step
from statekeeper.runtime import step_memo
from statekeeper.runtime.registry import Registered, Registry
from statekeeper.runtime.requests import DeliverEvent
from statekeeper.runtime.step_memo import memo_step
from statekeeper.testing.reference import SESSION, PureDriver
from statekeeper.testing.strategies import GeneratedChart, Step, chart_runs, suite_settings

PROPERTY = suite_settings()


class DurableChecking(PureDriver):
    """The reference driver; each step is also taken by ``memo_step`` on a registered twin."""

    entry: Registered
    compared = 0

    def step(self, snapshot: Snapshot, event: Event | str, timer: str | None = None) -> StepResult:
        want = super().step(snapshot, event, timer)
        ev = event if isinstance(event, Event) else as_event(event, None)
        request = DeliverEvent(snapshot.session, ev, timer_id=timer)
        for _ in range(2):  # the first time and again (a memoised or reused working state)
            after, status, microsteps, commands, moved = memo_step(
                self.entry, snapshot, ev, self.now, request)
            assert (after, status, microsteps, commands) == (
                want.snapshot, want.status, want.microsteps, want.commands)
            if moved:  # only the configuration moved: everything else is the same object
                assert after.data is snapshot.data
        type(self).compared += 1
        return want


def _twin(generated: GeneratedChart) -> Registered:
    registry = Registry()
    chart: CompiledChart = registry.register(generated.compile())
    return registry.get(chart.name, str(chart.version), chart.hash)


@PROPERTY
@given(chart_runs(payloads=True))
def test_durable_steps_equal_the_reference_steps(case: tuple[GeneratedChart, list[Step]]) -> None:
    generated, items = case
    reference = generated.compile()
    reference.plans = None
    DurableChecking.entry = _twin(generated)
    driver, _ = DurableChecking.start(reference)
    for item in items:
        driver.run(item)


def _compare_along(chart: CompiledChart, reference: CompiledChart,
                   stream: list[tuple[str, Any]], **bindings: Any) -> int:
    """Step ``stream`` with the reference; every step also by ``memo_step``; count quick ones."""
    registry = Registry()
    registry.register(chart, **bindings)
    entry = registry.get(chart.name, str(chart.version), chart.hash)
    snapshot = initial_step(reference, session=SESSION).snapshot
    quick = 0
    for now, (name, payload) in enumerate(stream):
        event = Event(name, payload)
        want = step(reference, snapshot, event, now=float(now))
        for _ in range(2):
            got = memo_step(entry, snapshot, event, float(now), DeliverEvent(SESSION, event))
            assert got[:4] == (want.snapshot, want.status, want.microsteps, want.commands)
        quick += not snapshot.timers and want.status == "applied" \
            and want.snapshot.data != snapshot.data
        snapshot = want.snapshot
    return quick


@pytest.mark.parametrize("shape", sorted(DATA_SHAPES))
def test_the_data_driven_benchmark_charts_step_durably_as_the_reference(shape: str) -> None:
    adapter = StatekeeperAdapter()
    reference = adapter.build(shape)
    reference.plans = None
    assert _compare_along(adapter.build(shape), reference,
                          list(DATA_SHAPES[shape].stream(200))) > 0


def test_the_durable_benchmark_chart_steps_as_the_reference(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def compiled() -> CompiledChart:
        return compile_chart(meter_chart(), guards=BINDINGS["guards"],
                             functions=BINDINGS["functions"])

    reference = compiled()
    reference.plans = None
    stream = [(EVENT, {"amount": amount(0, r)}) for r in range(40)]
    # idle -> busy -> idle ... -> settling (a timer and an effect) -> busy (the timer
    # cancelled): every step the quick way once its configuration is known to the plans
    # (the first step from each is the reference step, which makes its key)
    taken_whole: list[tuple[str, ...]] = []

    def whole(*args: Any, **kwargs: Any) -> StepResult:
        taken_whole.append(args[1].configuration)
        return step(*args, **kwargs)

    monkeypatch.setattr(step_memo, "step", whole)
    assert _compare_along(compiled(), reference, stream, effects=BINDINGS["effects"]) >= 20
    assert sorted(taken_whole) == [("open", "busy"), ("open", "idle"), ("open", "settling")]


def test_a_pending_timer_firing_takes_the_reference_step() -> None:
    # the reference step drops the timer that fires (named by the delivery, or by the
    # event's send id); the memo and the quick step do not, so neither answers for it
    chart = compile_chart(meter_chart(), guards=BINDINGS["guards"],
                          functions=BINDINGS["functions"])
    registry = Registry()
    registry.register(chart, effects=BINDINGS["effects"])
    entry = registry.get(chart.name, str(chart.version), chart.hash)
    snapshot = initial_step(chart, session=SESSION).snapshot
    for r in range(4):  # idle, busy, idle, busy, then settling with its timer
        event = Event(EVENT, {"amount": amount(0, r)})
        snapshot = memo_step(entry, snapshot, event, float(r), DeliverEvent(SESSION, event))[0]
    assert snapshot.configuration == ("open", "settling") and len(snapshot.timers) == 1
    (timer_id, pending), = snapshot.timers.items()
    fired = Event.from_dict(pending["event"])
    want = step(chart, snapshot, fired, now=9.0, timer=timer_id)
    assert want.snapshot.configuration == ("open", "idle") and not want.snapshot.timers
    for request in (DeliverEvent(SESSION, fired, timer_id=timer_id),
                    DeliverEvent(SESSION, fired)):  # fired's send id names the timer
        assert fired.sendid == timer_id
        got = memo_step(entry, snapshot, fired, 9.0, request)
        assert got[:4] == (want.snapshot, want.status, want.microsteps, want.commands)


def test_the_benchmark_chart_ends_as_its_model_says(tmp_path: Path) -> None:
    # every instance's final leaf and data are checked against the model inside the run
    run = run_sk_chart(tmp_path / "m.db", instances=24, senders=4, rounds=9, warmup_rounds=2)
    assert run.units == 24 * 9 and run.effects > 0
