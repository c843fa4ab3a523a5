"""Bulkheads, token buckets and timeouts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statekeeper.resilience import Bucket, Bulkhead, RateLimit, Timeout


def test_a_bulkhead_caps_concurrent_calls() -> None:
    bulkhead = Bulkhead(2)
    ok1, used = bulkhead.acquire(0)
    ok2, used = bulkhead.acquire(used)
    ok3, used = bulkhead.acquire(used)
    assert (ok1, ok2, ok3, used) == (True, True, False, 2)
    assert bulkhead.release(used) == 1
    with pytest.raises(ValueError):
        bulkhead.release(0)
    with pytest.raises(ValueError):
        Bulkhead(0)


def test_a_token_bucket_allows_a_burst_then_the_rate() -> None:
    limit = RateLimit("2/s", burst=3)
    bucket = None
    allowed = []
    for _ in range(4):
        decision = limit.take(bucket, 0.0)
        allowed.append(decision.allowed)
        bucket = decision.bucket
    assert allowed == [True, True, True, False]
    assert decision.wait == pytest.approx(0.5)
    assert limit.take(bucket, 0.5).allowed


@pytest.mark.parametrize(("text", "per_second"), [("10/s", 10), ("600/m", 10), ("5/250ms", 20),
                                                   (2.5, 2.5)])
def test_rates_are_written_as_people_write_them(text: str | float, per_second: float) -> None:
    assert RateLimit(text).rate == pytest.approx(per_second)


@pytest.mark.parametrize("bad", ["fast", "10/fortnight", 0, "-1/s"])
def test_bad_rates_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        RateLimit(bad)  # type: ignore[arg-type]


@given(st.floats(0.1, 100), st.integers(1, 20), st.lists(st.floats(0, 5), max_size=80))
def test_a_bucket_never_allows_more_than_burst_plus_rate_times_time(
        rate: float, burst: int, gaps: list[float]) -> None:
    limit = RateLimit(rate, burst=burst)
    bucket: Bucket | None = None
    now, allowed = 0.0, 0
    for gap in gaps:
        now += gap
        decision = limit.take(bucket, now)
        bucket = decision.bucket
        allowed += decision.allowed
        assert 0 <= bucket.tokens <= burst
        assert decision.allowed or decision.wait > 0
    assert allowed <= burst + rate * now + 1e-6


def test_timeouts_give_each_attempt_what_is_left_of_the_deadline() -> None:
    timeout = Timeout("5s", deadline="12s")
    assert timeout.budget(0.0, 0.0) == 5
    assert timeout.budget(0.0, 9.0) == 3
    assert timeout.budget(0.0, 13.0) == 0 and timeout.expired(0.0, 13.0)
    assert Timeout().budget(0.0, 1e9) is None
    with pytest.raises(ValueError):
        Timeout(0)
