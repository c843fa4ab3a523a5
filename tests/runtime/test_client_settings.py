"""A client's settings are checked when it is made, with errors that name the setting.

Before: ``concurrency=0`` made a worker that never ran an effect (its one semaphore had no
slot), ``lease=-1`` let every other worker take an effect at once, a string lease failed only
later in a comparison inside a background thread, and ``Client(123)`` raised an
AttributeError about ``migrate``.  ``when(timeout=)`` had the same comparison problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from statekeeper import Chart, State, VirtualClock
from statekeeper.client import AsyncClient, Client
from statekeeper.storage.memory import MemoryStore

LAMP = Chart("lamp", version=1, initial="off", states={
    "off": State(on={"flip": "on"}),
    "on": State(on={"flip": "off"}),
})


@pytest.mark.parametrize(("setting", "value"), [
    ("lease", -1), ("lease", 0), ("lease", "30"), ("lease", float("nan")), ("lease", True),
    ("concurrency", 0), ("concurrency", -2), ("concurrency", 2.5), ("concurrency", "8"),
    ("late_tolerance", -1), ("late_tolerance", "1"),
])
def test_a_setting_out_of_range_is_refused_by_name(setting: str, value: Any) -> None:
    store = MemoryStore()
    with pytest.raises(ValueError, match=setting):
        Client(store, **{setting: value})
    assert store.query() == []  # a store the caller handed in stays theirs, and open


def test_the_settings_that_make_sense_are_taken() -> None:
    with Client("memory://", lease=0.5, concurrency=1, late_tolerance=0) as client:
        assert (client.worker.lease, client.worker.timers.late_tolerance) == (0.5, 0)


@pytest.mark.parametrize("store", [123, None, object()])
def test_a_store_that_is_not_one_is_refused(store: Any) -> None:
    with pytest.raises(TypeError, match="a store URL, a path or a Store"):
        Client(store)
    with pytest.raises(TypeError, match="a store URL, a path or a Store"):
        AsyncClient(store)


@pytest.mark.parametrize("timeout", [-1, "1", float("nan")])
def test_when_refuses_a_timeout_that_is_not_seconds(timeout: Any) -> None:
    with Client("memory://", clock=VirtualClock()) as client:
        client.register(LAMP)
        client.start("lamp", "l-1")
        with pytest.raises(ValueError, match="when timeout"):
            client.when("l-1", "on", timeout=timeout)


def test_when_with_a_zero_timeout_answers_at_once(tmp_path: Path) -> None:
    with Client(f"sqlite:///{tmp_path / 'l.db'}", clock=VirtualClock()) as client:
        client.register(LAMP)
        client.start("lamp", "l-1")
        with pytest.raises(TimeoutError):
            client.when("l-1", "on", timeout=0)
        assert client.when("l-1", "off", timeout=0).state == "off"


def test_the_async_when_takes_a_timeout_too() -> None:
    import asyncio

    from statekeeper import EngineClosed
    from statekeeper.storage.base import UnknownInstance

    async def main() -> None:
        client = AsyncClient("memory://", clock=VirtualClock(), worker=False)
        client.register(LAMP)
        await client.start("lamp", "l-1")
        with pytest.raises(TimeoutError, match="did not reach 'on'"):
            await client.when("l-1", "on", timeout=0.01)
        with pytest.raises(ValueError, match="when timeout"):
            await client.when("l-1", "on", timeout=-1)
        with pytest.raises(UnknownInstance):
            await client.when("nope", "on", timeout=1)
        with pytest.raises(KeyError, match="no state 'lit'"):
            await client.when("l-1", "lit", timeout=1)
        waiting = asyncio.ensure_future(client.when("l-1", "on", timeout=30))
        await asyncio.sleep(0)
        await client.send("l-1", "flip")
        assert (await waiting).state == "on"
        assert (await client.when("l-1", "on", timeout=0)).state == "on"
        closing = asyncio.ensure_future(client.when("l-1", "off", timeout=30))
        await asyncio.sleep(0)
        await client.close()
        with pytest.raises(EngineClosed):
            await closing

    asyncio.run(main())


def test_both_watches_take_a_timeout_and_check_it() -> None:
    import asyncio

    with Client("memory://", clock=VirtualClock()) as client, \
            pytest.raises(ValueError, match="watch timeout"):
        client.watch(timeout="soon")

    async def main() -> list[str]:
        client = AsyncClient("memory://", clock=VirtualClock(), worker=False)
        client.register(LAMP)
        await client.start("lamp", "l-1")
        with pytest.raises(ValueError, match="watch timeout"):
            client.watch(timeout=-1)
        seen: list[str] = []

        async def watcher() -> None:
            async for change in client.watch("l-1", timeout=0.2):
                seen.append(change.state)

        watching = asyncio.ensure_future(watcher())
        await asyncio.sleep(0)
        await client.send("l-1", "flip")
        await asyncio.wait_for(watching, 30)  # ends on its own, 0.2 s after the last change
        await client.close()
        return seen

    assert asyncio.run(main()) == ["on"]
