"""``close(timeout=)``: a client stops in bounded time, and an effect it leaves loses nothing.

Before, ``close()`` waited for every running effect: a call stuck for a minute kept the process
from shutting down for a minute.  Now ``close(timeout=)`` waits that long and then abandons
what still runs, as if the process had died there: the abandoned call's outcome is dropped,
its lease runs out, and the effect runs again (at-least-once) or is answered with
``error.effect.<name>`` (at-most-once).  Effects claimed but not started are given back at
once.  ``close()`` without a timeout still waits for everything.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from order_chart import ORDER

from statekeeper import VirtualClock
from statekeeper.client import AsyncClient, Client

LEASE = 30.0
START = 1000.0
WAIT = 30.0


class Blocking:
    """An effect that blocks until released, recording every call's key."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()

    def __call__(self, args: Any, key: str) -> str:
        self.keys.append(key)
        self.started.set()
        try:
            assert self.release.wait(WAIT)
            return "charged"
        finally:
            self.finished.set()


def _until(check: Any) -> None:
    """Wait for a background thread to get somewhere (a deadline, not a measured time)."""
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, "the background work never got there"
        time.sleep(0.005)


def _charging(url: str, slow: Blocking, **register: Any) -> Client:
    """A client whose order o-1 is running its (blocking) charge effect."""
    client = Client(url, clock=VirtualClock(START), lease=LEASE)
    client.register(ORDER, effects={"charge": slow}, **register)
    client.start("order", "o-1")
    client.send("o-1", "accept")
    assert slow.started.wait(WAIT)
    return client


def _charged_later(url: str, clock: VirtualClock, **register: Any) -> tuple[Client, list[str]]:
    again = Client(url, clock=clock, worker=False)
    keys: list[str] = []

    def charge(args: Any, key: str) -> str:
        keys.append(key)
        return "charged"

    again.register(ORDER, effects={"charge": charge}, **register)
    return again, keys


def test_close_with_a_timeout_abandons_a_running_effect_which_runs_again(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path / 'orders.db'}"
    slow = Blocking()
    client = _charging(url, slow)
    with caplog.at_level(logging.WARNING, logger="statekeeper.runtime"):
        client.close(timeout=0.05)
    assert not slow.finished.is_set()  # close returned; the call runs on
    assert "abandoned" in caplog.text and slow.keys[0] in caplog.text
    slow.release.set()
    assert slow.finished.wait(WAIT)  # the late outcome has nowhere to go, and writes nothing

    again, keys = _charged_later(url, VirtualClock(START + LEASE - 1))
    with again:
        (row,) = again.store.effects("o-1")
        assert (row.status, row.attempts, row.errors) == ("running", 1, [])
        again.worker.run_until_idle()
        assert keys == [], "its lease still holds"
        again.clock.advance(1)  # type: ignore[attr-defined]
        again.worker.run_until_idle()
        assert keys == slow.keys, "run again once, under the same key"
        assert again.get("o-1").state == "paid"


def test_an_abandoned_at_most_once_effect_is_answered_with_an_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'orders.db'}"
    slow = Blocking()
    client = _charging(url, slow, at_most_once={"charge"})
    client.close(timeout=0.0)
    assert not slow.finished.is_set()
    slow.release.set()
    assert slow.finished.wait(WAIT)

    again, keys = _charged_later(url, VirtualClock(START + LEASE), at_most_once={"charge"})
    with again:
        again.worker.run_until_idle()
        assert keys == [], "never a second run"
        assert again.get("o-1").state == "failed"


def test_close_without_a_timeout_waits_for_the_running_effect(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'orders.db'}"
    slow = Blocking()
    client = _charging(url, slow)
    closing = threading.Thread(target=client.close)
    closing.start()
    _until(lambda: not client.worker._running)
    assert closing.is_alive() and not slow.finished.is_set()
    slow.release.set()
    closing.join(WAIT)
    assert not closing.is_alive()
    with Client(url, clock=VirtualClock(START), worker=False) as again:
        again.register(ORDER, effects={"charge": slow})
        assert again.get("o-1").state == "paid"
        (row,) = again.store.effects("o-1")
        assert (row.status, row.attempts) == ("done", 1)


def test_effects_claimed_but_not_started_are_given_back_at_close(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'orders.db'}"
    slow = Blocking()
    client = Client(url, clock=VirtualClock(START), lease=LEASE, concurrency=1)
    client.register(ORDER, effects={"charge": slow})
    for order in ("o-1", "o-2"):
        client.start("order", order)
        client.send(order, "accept")
    # one runs; the other is claimed and waits for the one slot
    _until(lambda: all(e.status == "running" for o in ("o-1", "o-2")
                       for e in client.store.effects(o)))
    assert len(slow.keys) == 1
    client.close(timeout=0.0)
    slow.release.set()
    assert slow.finished.wait(WAIT)

    again, keys = _charged_later(url, VirtualClock(START))
    with again:
        waiting = next(o for o in ("o-1", "o-2")
                       if again.store.effects(o)[0].key != slow.keys[0])
        (row,) = again.store.effects(waiting)
        assert (row.status, row.attempts, row.lease_owner) == ("pending", 0, None)
        again.worker.run_until_idle()  # at once: no lease to wait for
        assert again.get(waiting).state == "paid" and len(keys) == 1


def test_the_async_client_closes_with_a_timeout(tmp_path: Path) -> None:
    import asyncio

    slow = Blocking()

    async def main() -> bool:
        client = AsyncClient(f"sqlite:///{tmp_path / 'orders.db'}", clock=VirtualClock(START))
        client.register(ORDER, effects={"charge": slow})
        await client.start("order", "o-1")
        await client.send("o-1", "accept")
        await asyncio.to_thread(slow.started.wait, WAIT)
        await client.close(timeout=0.0)
        return slow.finished.is_set()

    try:
        assert asyncio.run(main()) is False  # closed while the call still ran
    finally:
        slow.release.set()
    assert slow.finished.wait(WAIT)


@pytest.mark.parametrize("timeout", [-1, float("nan"), "5", True])
def test_close_refuses_a_timeout_that_is_not_seconds(tmp_path: Path, timeout: Any) -> None:
    with Client(f"sqlite:///{tmp_path / 'orders.db'}") as client, \
            pytest.raises(ValueError, match="timeout must be a number of seconds"):
        client.close(timeout=timeout)


def test_an_effect_may_close_its_own_client(tmp_path: Path) -> None:
    # An effect that shuts its client down (an "emergency stop" action) must not wait for
    # itself: close returns, and the effect's own outcome is dropped like any abandoned one.
    url = f"sqlite:///{tmp_path / 'orders.db'}"
    closed = threading.Event()
    holder: dict[str, Client] = {}

    def stop(args: Any, key: str) -> str:
        holder["client"].close()
        closed.set()
        return "stopped"

    client = holder["client"] = Client(url, clock=VirtualClock(START), lease=LEASE)
    client.register(ORDER, effects={"charge": stop})
    client.start("order", "o-1")
    client.send("o-1", "accept")
    assert closed.wait(WAIT)
    with Client(url, clock=VirtualClock(START), worker=False) as again:
        again.register(ORDER, effects={"charge": stop})
        assert again.get("o-1").state == "charging"  # its outcome was dropped
