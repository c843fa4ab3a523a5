"""Closing a client while other threads still send: every caller is answered, none hangs.

``post`` used to check that the engine thread was running and then queue the request; a
``close`` in between stopped the thread first, and the request sat in the queue with nobody to
answer it, its caller blocked forever.  Now a request that misses the engine fails with
:class:`EngineClosed`, and so does any call on a closed client.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from statekeeper import Chart, EngineClosed, State, VirtualClock
from statekeeper.client import AsyncClient, Client
from statekeeper.core.events import Event
from statekeeper.runtime.engine import Engine
from statekeeper.runtime.registry import Registry
from statekeeper.runtime.requests import DeliverEvent
from statekeeper.storage.memory import MemoryStore

LAMP = Chart("lamp", version=1, initial="off", states={
    "off": State(on={"flip": "on"}),
    "on": State(on={"flip": "off"}),
})
WAIT = 10.0


def test_a_request_queued_after_the_engine_stopped_is_failed_not_left() -> None:
    registry = Registry()
    registry.register(LAMP)
    engine = Engine(MemoryStore(), registry, VirtualClock())
    engine.start()
    engine.close()
    late = DeliverEvent("l-1", Event("flip"))
    engine._queue.put(late)  # a post() that checked before close() and queued after it
    with pytest.raises(EngineClosed):
        engine.post(DeliverEvent("l-1", Event("flip")))
    with pytest.raises(EngineClosed):
        late.future.result(WAIT)
    engine.flush()  # a closed engine has nothing left to wait for: returns at once


def test_closing_while_threads_send_answers_every_sender(tmp_path: Path) -> None:
    client = Client(f"sqlite:///{tmp_path / 'l.db'}")
    client.register(LAMP)
    client.start("lamp", "l-1")
    ended: list[BaseException] = []
    sending = threading.Barrier(5)

    def sender() -> None:
        sending.wait()
        try:
            while True:
                client.send("l-1", "flip")
        except BaseException as exc:  # noqa: BLE001 - what ended the loop is the result
            ended.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    sending.wait()
    client.close()
    for thread in threads:
        thread.join(WAIT)
    assert not any(thread.is_alive() for thread in threads), "a sender hangs"
    assert len(ended) == 4 and all(isinstance(e, EngineClosed) for e in ended), ended


def test_an_async_send_on_a_closed_client_fails_at_once(tmp_path: Path) -> None:
    async def main() -> None:
        client = AsyncClient(f"sqlite:///{tmp_path / 'l.db'}")
        client.register(LAMP)
        await client.start("lamp", "l-1")
        await client.close()
        with pytest.raises(EngineClosed, match="closed"):
            await asyncio.wait_for(client.send("l-1", "flip"), WAIT)

    asyncio.run(main())


def test_closing_ends_watches_and_fails_waits_in_other_threads(tmp_path: Path) -> None:
    client = Client(f"sqlite:///{tmp_path / 'l.db'}")
    client.register(LAMP)
    client.start("lamp", "l-1")
    seen: list[str] = []
    outcome: list[BaseException | str] = []
    watch = client.watch("l-1")  # no timeout: only the close can end it

    def watching() -> None:
        seen.extend(state.state for state in watch)

    def waiting() -> None:
        try:
            outcome.append(client.when("l-1", "on").state)  # never: nobody flips it twice
        except BaseException as exc:  # noqa: BLE001 - the outcome under test
            outcome.append(exc)

    client.send("l-1", "flip")
    client.send("l-1", "flip")
    threads = [threading.Thread(target=watching), threading.Thread(target=waiting)]
    for thread in threads:
        thread.start()
    threads[0].join(0.2)
    client.close()
    for thread in threads:
        thread.join(WAIT)
    assert not any(thread.is_alive() for thread in threads), "a watcher or waiter hangs"
    assert seen == ["on", "off"]
    assert len(outcome) == 1 and isinstance(outcome[0], EngineClosed)


def test_closing_ends_async_watches_and_fails_async_waits(tmp_path: Path) -> None:
    async def main() -> tuple[list[str], BaseException | None]:
        client = AsyncClient(f"sqlite:///{tmp_path / 'l.db'}")
        client.register(LAMP)
        await client.start("lamp", "l-1")
        seen: list[str] = []

        async def watching() -> None:
            async for state in client.watch("l-1"):
                seen.append(state.state)

        watcher = asyncio.create_task(watching())
        waiter = asyncio.create_task(client.when("l-1", "on"))
        await asyncio.sleep(0.05)
        await client.close()
        await asyncio.wait_for(watcher, WAIT)
        try:
            await asyncio.wait_for(waiter, WAIT)
        except BaseException as exc:  # noqa: BLE001 - the outcome under test
            return seen, exc
        return seen, None

    seen, error = asyncio.run(main())
    assert seen == [] and isinstance(error, EngineClosed)
