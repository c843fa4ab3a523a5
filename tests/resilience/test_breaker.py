"""Circuit breaker: closed, open, half-open, over count and time windows."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statekeeper.resilience import Breaker, BreakerState


def _calls(breaker: Breaker, state: BreakerState, outcomes: list[bool],
           now: float) -> BreakerState:
    for ok in outcomes:
        decision = breaker.allow(state, now)
        assert decision.allowed
        state = breaker.record(decision.state, ok, now)
    return state


def test_opens_at_the_failure_rate_then_probes_and_closes() -> None:
    breaker = Breaker("payments", failure_rate=0.5, min_calls=4, window=10, open_for="30s")
    state = _calls(breaker, BreakerState(), [True, False, True], 0.0)
    assert state.status == "closed"  # 1 of 3 failed, and fewer than min_calls anyway
    state = _calls(breaker, state, [False], 1.0)
    assert state.status == "open" and state.opened_at == 1.0  # 2 of 4
    refused = breaker.allow(state, 20.0)
    assert not refused.allowed and refused.retry_at == 31.0
    probe = breaker.allow(state, 31.0)
    assert probe.allowed and probe.state.status == "half_open"
    assert not breaker.allow(probe.state, 31.5).allowed  # one probe at a time
    assert breaker.record(probe.state, True, 32.0).status == "closed"
    assert breaker.record(probe.state, False, 32.0) == BreakerState("open", (), 32.0)


def test_a_time_window_forgets_old_failures() -> None:
    breaker = Breaker("mail", failure_rate=0.5, min_calls=2, window="60s")
    state = _calls(breaker, BreakerState(), [False], 0.0)
    state = _calls(breaker, state, [True, True], 100.0)  # the old failure left the window
    assert state.status == "closed" and len(state.outcomes) == 2


def test_several_probes_must_all_succeed() -> None:
    breaker = Breaker("search", min_calls=1, failure_rate=1.0, open_for=5, probes=2)
    state = _calls(breaker, BreakerState(), [False], 0.0)
    first = breaker.allow(state, 5.0)
    second = breaker.allow(first.state, 5.0)
    assert first.allowed and second.allowed and not breaker.allow(second.state, 5.0).allowed
    halfway = breaker.record(second.state, True, 6.0)
    assert halfway.status == "half_open"
    assert breaker.record(halfway, True, 6.0).status == "closed"


def test_state_round_trips_as_json_data() -> None:
    state = BreakerState("half_open", ((1.0, True), (2.0, False)), 0.5, 1, 0)
    assert BreakerState.from_dict(state.to_dict()) == state
    with pytest.raises(ValueError, match="status"):
        BreakerState.from_dict({"status": "ajar", "outcomes": []})


@pytest.mark.parametrize("kwargs", [
    {"failure_rate": 0}, {"failure_rate": 1.5}, {"min_calls": 0}, {"probes": 0}, {"window": 0},
    {"open_for": "never"},
])
def test_bad_breakers_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Breaker("x", **kwargs)  # type: ignore[arg-type]


@given(st.lists(st.tuples(st.booleans(), st.floats(0, 20)), max_size=60),
       st.integers(1, 5), st.floats(0.1, 1.0), st.integers(1, 3))
def test_an_open_breaker_refuses_until_its_period_ends(steps: list[tuple[bool, float]],
                                                       min_calls: int, rate: float,
                                                       probes: int) -> None:
    breaker = Breaker("p", failure_rate=rate, min_calls=min_calls, window=8, open_for=10,
                      probes=probes)
    state, now = BreakerState(), 0.0
    for ok, dt in steps:
        now += dt
        decision = breaker.allow(state, now)
        if state.status == "open":
            assert state.opened_at is not None
            assert decision.allowed == (now >= state.opened_at + 10)
        if decision.state.status == "half_open":
            assert decision.state.probes_in_flight + decision.state.probe_successes <= probes
        state = breaker.record(decision.state, ok, now) if decision.allowed else decision.state
        if state.status == "closed":
            failures = sum(1 for _, good in state.outcomes if not good)
            assert len(state.outcomes) <= 8
            assert len(state.outcomes) < min_calls or failures / len(state.outcomes) < rate


def test_a_lost_probe_is_given_up_after_an_open_period() -> None:
    breaker = Breaker("svc", failure_rate=1.0, min_calls=1, open_for=10.0)
    state = breaker.record(BreakerState(), False, 0.0)
    probe = breaker.allow(state, 10.0)
    assert probe.allowed and probe.state.status == "half_open"
    waiting = breaker.allow(probe.state, 15.0)  # the probe's worker died: it never reports
    assert not waiting.allowed and waiting.retry_at == 20.0
    again = breaker.allow(waiting.state, 20.0)
    assert again.allowed, "a new probe once the lost one had a whole open period"
    assert breaker.record(again.state, True, 21.0).status == "closed"
