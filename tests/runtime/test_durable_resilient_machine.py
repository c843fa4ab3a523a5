"""resile's shape, durable: ``handle(event)`` retried under a policy kept in the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from statekeeper import VirtualClock
from statekeeper.client import Client
from statekeeper.client.resilient import DurableResilientMachine
from statekeeper.resilience import Breaker, BreakerOpen, RetriesExhausted, Retry

RETRY = Retry(4, base_delay=1.0, jitter="none")


class Light:
    """A transition function whose first ``failures`` attempts fail (a flaky device)."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.attempts: list[int] = []

    def __call__(self, state: str, data: dict[str, Any], event: Any,
                 attempt: int) -> tuple[str, dict[str, Any]]:
        self.attempts.append(attempt)
        if len(self.attempts) <= self.failures:
            raise ConnectionError("device unreachable")
        target = "on" if event == "toggle" and state == "off" else "off"
        return target, {**data, "toggles": data["toggles"] + 1}


def test_handle_retries_until_the_transition_succeeds(client: Client,
                                                      clock: VirtualClock) -> None:
    light = Light(failures=2)
    machine = DurableResilientMachine(client, "lamp", "off", {"toggles": 0}, light, retry=RETRY)
    t0 = clock.now()
    assert machine.handle("toggle") == ("on", {"toggles": 1})
    assert light.attempts == [1, 2, 3]
    assert clock.now() - t0 == pytest.approx(3.0), "backoffs of 1s and 2s, from the store"
    assert (machine.state, machine.data) == ("on", {"toggles": 1})
    assert machine.handle("toggle") == ("off", {"toggles": 2})


def test_exhaustion_leaves_state_and_data_unchanged(client: Client) -> None:
    machine = DurableResilientMachine(client, "lamp", "off", {"toggles": 0}, Light(failures=99),
                                      retry=Retry(3, base_delay=1.0))
    with pytest.raises(RetriesExhausted) as caught:
        machine.handle("toggle")
    assert caught.value.attempts == 3 and caught.value.reason == "exhausted"
    assert len(caught.value.errors) == 3
    assert (machine.state, machine.data) == ("off", {"toggles": 0})


def test_an_open_shared_breaker_refuses_without_calling(store_url: str,
                                                        clock: VirtualClock) -> None:
    breaker = Breaker("device", failure_rate=1.0, min_calls=1, open_for=60.0)
    with Client(store_url, clock=clock, worker=False, breakers={"device": breaker}) as client:
        light = Light(failures=1)
        machine = DurableResilientMachine(client, "lamp", "off", {"toggles": 0}, light,
                                          retry=Retry(1), breaker="device")
        with pytest.raises(RetriesExhausted):
            machine.handle("toggle")
        with pytest.raises(BreakerOpen):
            machine.handle("toggle")
        assert light.attempts == [1], "the open breaker made no attempt"
        clock.advance(60.0)
        assert machine.handle("toggle") == ("on", {"toggles": 1})


def test_a_machine_reopened_from_its_file_continues(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lamps.db'}"
    with Client(url, clock=VirtualClock(), worker=False) as client:
        DurableResilientMachine(client, "lamp", "off", {"toggles": 0}, Light(),
                                retry=RETRY).handle("toggle")
    with Client(url, clock=VirtualClock(), worker=False) as client:
        again = DurableResilientMachine(client, "lamp", "off", {"toggles": 0}, Light(),
                                        retry=RETRY)
        assert (again.state, again.data) == ("on", {"toggles": 1})
        handled = [r.event for r in client.history("lamp")]
        assert handled.count("handle") == 1


def test_with_background_workers_on_the_system_clock(tmp_path: Path) -> None:
    with Client(tmp_path / "lamps.db") as client:
        machine = DurableResilientMachine(client, "lamp", "off", {"toggles": 0}, Light(),
                                          retry=RETRY)
        assert machine.handle("toggle", timeout=30) == ("on", {"toggles": 1})


def test_bad_arguments_are_refused_and_store_nothing(client: Client) -> None:
    from statekeeper import InvalidPayload, UnknownInstance

    with pytest.raises(ValueError, match="initial state"):
        DurableResilientMachine(client, "lamp", "", {"toggles": 0}, Light())
    with pytest.raises(InvalidPayload, match=r"\$\.data\.toggles: .*set"):
        DurableResilientMachine(client, "lamp", "off", {"toggles": {1, 2}}, Light())
    with pytest.raises(UnknownInstance):
        client.get("lamp")
