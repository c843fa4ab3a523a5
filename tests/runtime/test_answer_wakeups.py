"""A group's answers reach an event loop with one wake-up, after every answer is set."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from typing import Any

import pytest

from statekeeper import Chart, EngineClosed, State, VirtualClock
from statekeeper.client import AsyncClient
from statekeeper.core.events import Event
from statekeeper.runtime.engine import Engine
from statekeeper.runtime.registry import Registry
from statekeeper.runtime.requests import DeliverEvent, StartInstance
from statekeeper.storage.memory import MemoryStore

LAMP = Chart("lamp", version=1, initial="off", states={
    "off": State(on={"flip": "on"}),
    "on": State(on={"flip": "off"}),
})


def test_hooks_wait_for_the_whole_batch_and_run_at_once_outside_one() -> None:
    store = MemoryStore()
    store.migrate()
    registry = Registry()
    registry.register(LAMP)
    engine = Engine(store, registry, VirtualClock())
    ran: list[str] = []
    engine.after_answers(lambda: ran.append("now"))  # no batch: at once
    assert ran == ["now"]
    ids = [f"l-{i}" for i in range(12)]
    order: list[tuple[str, str]] = []

    def answered(instance: str) -> Any:
        def done(_: Future[Any]) -> None:
            order.append(("answer", instance))
            engine.after_answers(lambda: order.append(("hook", instance)))
        return done

    requests: list[Any] = [StartInstance("lamp", i) for i in ids]
    requests += [DeliverEvent(i, Event("flip")) for i in ids]
    for request in requests[len(ids):]:
        request.future.add_done_callback(answered(request.instance))
    for request in requests:  # queued before the thread starts: one batch takes them all
        engine._queue.put(request)
    engine.start()
    try:
        engine.flush()
        assert all(r.future.result(5).outcome == "applied" for r in requests[len(ids):])
    finally:
        engine.close()
    answers = [i for kind, i in order if kind == "answer"]
    hooks = [i for kind, i in order if kind == "hook"]
    assert sorted(answers) == sorted(hooks) == sorted(ids)
    assert order[:len(ids)] == [("answer", i) for i in answers]  # every answer, then the hooks
    assert engine.batches == 1


def test_async_senders_are_each_answered_once(tmp_path: Any) -> None:
    async def main() -> list[str]:
        client = AsyncClient(f"sqlite:///{tmp_path / 'lamps.db'}", worker=False)
        try:
            client.register(LAMP)
            await asyncio.gather(*(client.start("lamp", f"l-{i}") for i in range(20)))
            states = await asyncio.gather(*(client.send(f"l-{i}", "flip") for i in range(20)))
            return [s.state for s in states]
        finally:
            await client.close()

    assert asyncio.run(main()) == ["on"] * 20


def test_async_errors_reach_the_awaiting_caller_and_change_nothing(tmp_path: Any) -> None:
    from statekeeper import EventNotAccepted
    from statekeeper.storage.base import UnknownInstance

    async def main() -> None:
        client = AsyncClient(f"sqlite:///{tmp_path / 'lamps.db'}", worker=False)
        client.register(LAMP)
        await client.start("lamp", "l-1")
        with pytest.raises(UnknownInstance):
            await client.send("nope", "flip")
        with pytest.raises(EventNotAccepted):
            await client.send("l-1", "explode")
        with pytest.raises(TypeError, match="name"):
            await client.send("l-1", 7)  # type: ignore[arg-type]
        first = await client.send("l-1", "flip", idempotency_key="k")
        again = await client.send("l-1", "flip", idempotency_key="k")
        assert (first.outcome, again.outcome, again.state) == ("applied", "duplicate", "on")
        rows = await client.history("l-1")
        assert [(r.event, r.outcome) for r in rows] == [
            ("statekeeper.start", "applied"), ("explode", "rejected"), ("flip", "applied")]
        assert (await client.get("l-1")).state == "on"
        await client.close()
        with pytest.raises(EngineClosed, match="closed"):
            await client.send("l-1", "flip")

    asyncio.run(main())


def test_an_engine_refuses_requests_it_cannot_take() -> None:
    engine = Engine(MemoryStore(), Registry(), VirtualClock())
    request = DeliverEvent("l-1", Event("flip"))
    with pytest.raises(EngineClosed, match="never started"):
        engine.post(request)
    engine.start()
    try:
        with pytest.raises(TypeError, match=r"use post\(\)"):
            engine.submit(DeliverEvent("l-1", Event("flip"), future=_NotAFuture()))
    finally:
        engine.close()


class _NotAFuture:
    def done(self) -> bool:
        return False

    def set_result(self, result: Any, /) -> None:
        raise AssertionError("never queued")

    def set_exception(self, exception: BaseException | None, /) -> None:
        raise AssertionError("never queued")


def test_sends_of_one_turn_of_the_loop_reach_the_engine_together(tmp_path: Any) -> None:
    # Each task's send used to be queued on its own, waking the engine's thread once per
    # request; what the tasks of one turn send is now handed over as one group, in order.
    async def main() -> tuple[int, list[str]]:
        client = AsyncClient(f"sqlite:///{tmp_path / 'lamps.db'}", worker=False)
        try:
            client.register(LAMP)
            await asyncio.gather(*(client.start("lamp", f"l-{i}") for i in range(16)))
            before = client.engine.batches
            sends = [client.send(f"l-{i % 16}", "flip") for i in range(32)]  # two per lamp
            states = await asyncio.gather(*sends)
            return client.engine.batches - before, [s.state for s in states]
        finally:
            await client.close()

    batches, states = asyncio.run(main())
    assert batches == 1  # one group commit: the engine took all 32 at once
    assert states == ["on"] * 16 + ["off"] * 16  # each lamp's two flips, in the order sent


@pytest.mark.parametrize("call", ["send", "start"])
@pytest.mark.parametrize("closed_by", ["client", "engine"])
def test_a_call_made_just_before_close(closed_by: str, call: str) -> None:
    # AsyncClient.close() hands the turn's sends and starts over first: queued work is
    # finished, not refused.  An engine closed under the client answers them EngineClosed.
    async def main() -> str:
        client = AsyncClient("memory://", worker=False)
        client.register(LAMP)
        if call == "send":
            await client.start("lamp", "l-1")
        pending = asyncio.ensure_future(client.send("l-1", "flip") if call == "send"
                                        else client.start("lamp", "l-1"))
        await asyncio.sleep(0)  # the call is made; it would be handed over at the turn's end
        if closed_by == "client":
            await client.close()
            return (await pending).state
        client.engine.close()
        with pytest.raises(EngineClosed):
            await pending
        await client.close()
        return "closed"

    want = {"send": "on", "start": "off"}[call] if closed_by == "client" else "closed"
    assert asyncio.run(main()) == want


def test_a_burst_larger_than_the_batch_limit_is_split_in_order(tmp_path: Any) -> None:
    async def main() -> tuple[int, list[str]]:
        client = AsyncClient(f"sqlite:///{tmp_path / 'lamps.db'}", worker=False)
        try:
            client.register(LAMP)
            client.engine.max_batch = 8
            await asyncio.gather(*(client.start("lamp", f"l-{i}") for i in range(4)))
            before = client.engine.batches
            states = await asyncio.gather(*(client.send(f"l-{i % 4}", "flip")
                                            for i in range(40)))
            return client.engine.batches - before, [s.state for s in states]
        finally:
            await client.close()

    batches, states = asyncio.run(main())
    assert 2 < batches <= 10  # no group much larger than the limit
    assert states == [("on" if (i // 4) % 2 == 0 else "off") for i in range(40)]


def test_starts_of_one_turn_of_the_loop_reach_the_engine_together(tmp_path: Any) -> None:
    # As sends: each start used to be submitted on its own (a Future, a queue put and a
    # wake-up of the engine's thread per start); a turn's starts are now one group commit.
    async def main() -> tuple[int, list[tuple[str, int]]]:
        client = AsyncClient(f"sqlite:///{tmp_path / 'lamps.db'}", worker=False)
        try:
            client.register(LAMP)
            await client.start("lamp", "warm")
            before = client.engine.batches
            states = await asyncio.gather(*(client.start("lamp", f"l-{i}") for i in range(16)))
            return client.engine.batches - before, [(s.state, s.rev) for s in states]
        finally:
            await client.close()

    batches, states = asyncio.run(main())
    assert batches == 1
    assert states == [("off", 1)] * 16


def test_a_start_twice_in_one_turn_answers_the_second_instance_exists() -> None:
    from statekeeper.storage.base import InstanceExists

    async def main() -> None:
        client = AsyncClient("memory://", worker=False)
        try:
            client.register(LAMP)
            first, second = await asyncio.gather(client.start("lamp", "l-1"),
                                                 client.start("lamp", "l-1"),
                                                 return_exceptions=True)
            assert not isinstance(first, BaseException) and first.state == "off"
            assert isinstance(second, InstanceExists)
            with pytest.raises(TypeError, match="chart"):
                await client.start(7, "l-2")  # type: ignore[arg-type]
        finally:
            await client.close()

    asyncio.run(main())


def test_a_cancelled_start_still_commits_and_others_are_answered(tmp_path: Any) -> None:
    async def main() -> tuple[str, list[str]]:
        client = AsyncClient(f"sqlite:///{tmp_path / 'lamps.db'}", worker=False)
        try:
            client.register(LAMP)
            gone = asyncio.ensure_future(client.start("lamp", "gone"))
            others = [asyncio.ensure_future(client.start("lamp", f"l-{i}")) for i in range(3)]
            await asyncio.sleep(0)
            gone.cancel()
            states = await asyncio.gather(*others)
            with pytest.raises(asyncio.CancelledError):
                await gone
            return (await client.get("gone")).state, [s.state for s in states]
        finally:
            await client.close()

    assert asyncio.run(main()) == ("off", ["off"] * 3)


def test_a_client_used_from_one_loop_then_another_answers_each_on_its_own(
        tmp_path: Any) -> None:
    """The waker of the loop used last is kept for the next send: a new loop gets its own."""
    client = AsyncClient(f"sqlite:///{tmp_path / 'lamps.db'}", worker=False)

    async def flip(count: int) -> list[str]:
        states = await asyncio.gather(*(client.send(f"l-{i}", "flip") for i in range(count)))
        return [s.state for s in states]

    try:
        client.register(LAMP)

        async def start() -> None:
            await asyncio.gather(*(client.start("lamp", f"l-{i}") for i in range(4)))

        asyncio.run(start())
        assert asyncio.run(flip(4)) == ["on"] * 4
        assert asyncio.run(flip(4)) == ["off"] * 4
        assert len(client._wakers) == 3  # one per loop, none answered on another's
    finally:
        asyncio.run(client.close())
