"""Retry decisions: the backoff schedule, jitter bounds, fatal errors, hints and deadlines."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statekeeper.resilience import Retry, error_names

policies = st.builds(
    lambda attempts, base, extra, mult, jitter: Retry(
        attempts, base_delay=base, max_delay=base + extra, multiplier=mult, jitter=jitter),
    st.integers(1, 12), st.floats(0, 100), st.floats(0, 1000), st.floats(1, 10),
    st.sampled_from(["full", "equal", "none"]),
)


def test_the_schedule_doubles_up_to_the_cap() -> None:
    policy = Retry(6, base_delay="100ms", max_delay="1s", jitter="none")
    assert [policy.cap(n) for n in range(1, 7)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert [policy.delay(n) for n in range(1, 5)] == [0.1, 0.2, 0.4, 0.8]


def test_a_seeded_source_gives_the_same_schedule() -> None:
    policy = Retry(5, base_delay=1, max_delay=30)
    one = [policy.delay(n, random.Random(7)) for n in range(1, 5)]
    two = [policy.delay(n, random.Random(7)) for n in range(1, 5)]
    assert one == two


@given(policies, st.integers(1, 40), st.randoms(use_true_random=False))
def test_jittered_delays_stay_within_their_bounds(policy: Retry, attempt: int,
                                                   rng: random.Random) -> None:
    cap = policy.cap(attempt)
    assert 0 <= cap <= policy.max_delay
    delay = policy.delay(attempt, rng)
    low = {"full": 0.0, "equal": cap / 2, "none": cap}[policy.jitter]
    assert low <= delay <= cap
    assert policy.cap(attempt + 1) >= cap


@given(policies, st.lists(st.sampled_from(["OSError", "TimeoutError", "ValueError"]), max_size=30),
       st.randoms(use_true_random=False))
def test_never_more_attempts_than_allowed(policy: Retry, errors: list[str],
                                          rng: random.Random) -> None:
    attempt = 1
    for error in errors:
        decision = policy.decide(attempt, error, rng=rng)
        if not decision.retry:
            assert decision.reason == "exhausted" and attempt == policy.max_attempts
            break
        assert decision.attempt == attempt + 1 and decision.delay >= 0
        attempt = decision.attempt
    assert attempt <= policy.max_attempts


def test_fatal_errors_and_retry_on_are_matched_by_class_and_base() -> None:
    policy = Retry(5, retry_on=(OSError,), fatal=("PermissionError",))
    assert policy.decide(1, ConnectionRefusedError()).retry  # an OSError subclass
    assert policy.decide(1, PermissionError()).reason == "fatal"  # fatal wins over OSError
    assert policy.decide(1, ValueError("bad card")).reason == "fatal"  # not in retry_on
    assert policy.decide(1, "ConnectionError: card API down").retry  # a builtin's bases count
    assert policy.decide(1, "CardDeclined: no funds").reason == "fatal"  # text: the name only
    assert policy.decide(1, "OSError: reset").retry
    assert "OSError" in error_names(ConnectionRefusedError)


def test_a_retry_after_hint_lengthens_the_wait_and_a_deadline_ends_it() -> None:
    policy = Retry(5, base_delay=1, max_delay=2, jitter="none")
    assert policy.decide(1, "TimeoutError", retry_after=90).delay == 90
    assert policy.decide(1, "TimeoutError", retry_after=0.5).delay == 1
    assert policy.decide(2, "TimeoutError", elapsed=9, deadline=10).reason == "deadline"


@pytest.mark.parametrize("kwargs", [
    {"max_attempts": 0}, {"max_attempts": True}, {"base_delay": 5, "max_delay": 1},
    {"multiplier": 0.5}, {"jitter": "sometimes"}, {"base_delay": "-1s"}, {"max_delay": "soon"},
])
def test_bad_policies_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Retry(**kwargs)  # type: ignore[arg-type]
