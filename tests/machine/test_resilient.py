"""resile's shape: one transition function retried under a policy, on a virtual clock."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from statekeeper import VirtualClock
from statekeeper.machine import AsyncResilientMachine, ResilientMachine
from statekeeper.resilience import (
    Attempt,
    Breaker,
    BreakerOpen,
    RetriesExhausted,
    Retry,
    Timeout,
)


class Network:
    """The world outside: a connect call that fails ``failures`` times first."""

    def __init__(self, failures: int, error: type[Exception] = ConnectionRefusedError) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    def connect(self, state: str, data: dict[str, Any], event: str,
                attempt: int) -> tuple[str, dict[str, Any]]:
        self.calls += 1
        data["tries"] = data.get("tries", 0) + 1  # mutating the copy must not leak on failure
        if state == "Disconnected" and event == "Connect":
            if self.calls <= self.failures:
                raise self.error("connection refused")
            return "Connected", {**data, "attempt": attempt}
        return state, data


def test_connects_after_two_failures_waiting_the_backoff() -> None:
    clock, seen = VirtualClock(), []
    net = Network(failures=2)
    machine = ResilientMachine("Disconnected", {}, net.connect, clock=clock, hooks=[seen.append],
                               retry=Retry(5, base_delay=1, jitter="none"))
    assert machine.handle("Connect") == ("Connected", {"tries": 1, "attempt": 3})
    assert clock.now() == 3.0  # waited 1 s, then 2 s
    finished = [a for a in seen if a.phase == "finished"]
    assert [(a.attempt, a.outcome, a.delay) for a in finished] == [
        (1, "error", 1.0), (2, "error", 2.0), (3, "ok", 0.0)]
    assert finished[0].error == "ConnectionRefusedError: connection refused"


def test_exhausted_retries_leave_state_and_data_as_they_were() -> None:
    machine = ResilientMachine("Disconnected", {"host": "db"}, Network(failures=99).connect,
                               clock=VirtualClock(), retry=Retry(3), rng=random.Random(1))
    with pytest.raises(RetriesExhausted) as caught:
        machine.handle("Connect")
    assert (caught.value.attempts, caught.value.reason) == (3, "exhausted")
    assert len(caught.value.errors) == 3
    assert (machine.state, machine.data) == ("Disconnected", {"host": "db"})


def test_a_fatal_error_is_not_retried() -> None:
    net = Network(failures=99, error=PermissionError)
    machine = ResilientMachine("Disconnected", {}, net.connect, clock=VirtualClock(),
                               retry=Retry(5, fatal=(PermissionError,)))
    with pytest.raises(RetriesExhausted, match="fatal"):
        machine.handle("Connect")
    assert net.calls == 1


def test_a_breaker_refuses_calls_while_open_then_probes() -> None:
    clock = VirtualClock()
    net = Network(failures=2)
    machine = ResilientMachine("Disconnected", {}, net.connect, clock=clock, retry=Retry(1),
                               breaker=Breaker("db", min_calls=2, failure_rate=1.0, open_for=30))
    for _ in range(2):
        with pytest.raises(RetriesExhausted):
            machine.handle("Connect")
    with pytest.raises(BreakerOpen) as caught:
        machine.handle("Connect")
    assert caught.value.retry_at == 30.0 and net.calls == 2  # no call was made
    clock.advance(30)
    assert machine.handle("Connect")[0] == "Connected"
    assert machine.breaker_state.status == "closed"


def test_a_slow_synchronous_attempt_counts_as_timed_out() -> None:
    clock, seen = VirtualClock(), []

    def slow_then_fast(state: str, data: int, event: str, attempt: int) -> tuple[str, int]:
        if attempt == 1:
            clock.advance(10)  # the call took 10 s
        return "Connected", data + 1

    machine = ResilientMachine("Disconnected", 0, slow_then_fast, clock=clock, hooks=[seen.append],
                               retry=Retry(2, base_delay=1, jitter="none"), timeout=Timeout("5s"))
    assert machine.handle("Connect") == ("Connected", 1)
    assert [a.outcome for a in seen if a.phase == "finished"] == ["timeout", "ok"]


def test_an_async_attempt_is_cancelled_when_its_budget_passes() -> None:
    clock = VirtualClock()
    cancelled: list[int] = []

    async def hang_then_connect(state: str, data: int, event: str, attempt: int) -> tuple[str, int]:
        if attempt == 1:
            clock.advance(6)  # time passes while the call hangs...
            try:
                await asyncio.Event().wait()  # ...and it never answers
            finally:
                cancelled.append(attempt)
        return "Connected", data + 1

    async def scenario() -> tuple[str, int]:
        machine = AsyncResilientMachine("Disconnected", 0, hang_then_connect, clock=clock,
                                        retry=Retry(3, base_delay=1, jitter="none"),
                                        timeout=Timeout("5s"))
        return await asyncio.wait_for(machine.handle("Connect"), 5)

    assert asyncio.run(scenario()) == ("Connected", 1)
    assert cancelled == [1]


def test_an_async_machine_gives_up_like_the_sync_one() -> None:
    async def always_fails(state: str, data: None, event: str, attempt: int) -> tuple[str, None]:
        raise TimeoutError("no answer")

    machine = AsyncResilientMachine("Idle", None, always_fails, clock=VirtualClock(),
                                    retry=Retry(2, base_delay=1), timeout=Timeout(deadline=100))
    with pytest.raises(RetriesExhausted):
        asyncio.run(machine.handle("Go"))
    assert machine.state == "Idle"


def test_attempt_records_are_plain_data() -> None:
    record = Attempt("Connect", 1, "finished", 3.0, "error", "OSError: x", 2.0)
    assert record.delay == 2.0 and record.outcome == "error"


def test_a_machine_needs_an_initial_state() -> None:
    with pytest.raises(ValueError):
        ResilientMachine("", {}, Network(0).connect, clock=VirtualClock())
