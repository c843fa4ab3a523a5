"""An effect released by a stopping worker is taken up by another at once, not at its poll.

Two worker processes' worth of clients share one PostgreSQL schema; both poll only once an
hour, so only a wake-up can move the effect.  The worker that claimed it first is stopped
while the call hangs, releasing its lease (what ``statekeeper worker`` does on SIGTERM): the
row becomes pending again by an UPDATE, which before schema version 5 notified nobody, and the
other worker waited for its next poll.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from statekeeper import Chart, Effect, Final, State
from statekeeper.client import Client

pytestmark = pytest.mark.postgres

CHART = Chart("order", version=1, initial="charging", states={
    "charging": State(entry=[Effect("charge")], on={"done.effect.charge": "paid"}),
    "paid": Final(),
})
HOUR = 3600.0


def test_a_released_lease_wakes_another_worker(pg_url: str) -> None:
    hang, ran = threading.Event(), {"first": threading.Event(), "second": threading.Event()}
    calls: list[str] = []
    lock = threading.Lock()

    def charge_in(name: str) -> Callable[..., Any]:
        def charge(args: Any, key: str, attempt: int) -> str:
            with lock:
                calls.append(name)
            if attempt == 1:
                ran["first"].set()
                hang.wait(60)  # a call still running when its worker stops
                return "too late"
            ran["second"].set()
            return name
        return charge

    clients = [Client(pg_url, poll=HOUR, lease=3 * HOUR) for _ in range(2)]
    try:
        for n, client in enumerate(clients):
            client.register(CHART, effects={"charge": charge_in(f"worker-{n}")})
        for client in clients:
            assert wait_until(lambda c=client: c.worker.listening)
        clients[0].start("order", "o-1")
        assert ran["first"].wait(30)
        first = clients[int(calls[0] == "worker-1")]
        other = clients[int(calls[0] == "worker-0")]
        assert first.worker.close(timeout=0.1, release=True) != []
        assert ran["second"].wait(30), "the other worker was not woken by the release"
        assert calls[1] != calls[0]
        assert other.when("o-1", "paid", timeout=30).state == "paid"
        [done] = [r for r in other.history("o-1") if r.event == "done.effect.charge"]
        assert done.data == calls[1]
    finally:
        hang.set()
        for client in clients:
            client.close()


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    event = threading.Event()
    for _ in range(int(timeout / 0.05)):
        if condition():
            return True
        event.wait(0.05)
    return condition()
