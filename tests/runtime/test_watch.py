"""Client.watch and AsyncClient.watch/when see every committed change, in order."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from statekeeper import AsyncClient, Chart, Client, Final, State, VirtualClock

RING = Chart("ring", version=1, initial="a", states={
    "a": State(on={"next": "b"}),
    "b": State(on={"next": "c"}),
    "c": State(on={"next": "a", "stop": "end"}),
    "end": Final(),
})


def test_sync_watch_sees_each_commit_of_its_instance(client: Client) -> None:
    client.register(RING)
    client.start("ring", "r-1")
    client.start("ring", "r-2")
    with client.watch("r-1", timeout=5) as changes:
        for _ in range(2):
            client.send("r-1", "next")
            client.send("r-2", "next")
        client.send("r-1", "stop")
        seen = []
        for state in changes:
            seen.append((state.id, state.state, state.rev))
            if state.done:
                break
    assert seen == [("r-1", "b", 2), ("r-1", "c", 3), ("r-1", "end", 4)]


def test_a_closed_watch_ends_and_unsubscribes(client: Client) -> None:
    client.register(RING)
    client.start("ring", "r-1")
    changes = client.watch(timeout=0.01)
    changes.close()
    client.send("r-1", "next")
    assert list(changes) == []
    assert not client._watchers


def test_async_watch_and_when(tmp_path: Path) -> None:
    async def scenario() -> list[str]:
        async with AsyncClient(f"sqlite:///{tmp_path / 'ring.db'}", clock=VirtualClock(),
                               worker=False) as client:
            client.register(RING)
            await client.start("ring", "r-1")
            seen: list[str] = []

            async def follow() -> None:
                async for state in client.watch("r-1"):
                    seen.append(state.state)
                    if state.done:
                        return

            follower = asyncio.create_task(follow())
            await asyncio.sleep(0)  # let the follower subscribe
            waiter = asyncio.create_task(client.when("r-1", "c"))
            for event in ("next", "next", "stop"):
                await client.send("r-1", event)
            reached = await asyncio.wait_for(waiter, 5)
            assert reached.is_active("c")
            await asyncio.wait_for(follower, 5)
            return seen

    assert asyncio.run(scenario()) == ["b", "c", "end"]


@pytest.mark.parametrize(("bad", "error", "reason"), [
    ("", ValueError, "must not be empty"), (None, TypeError, "takes a string, not None")])
def test_start_refuses_an_empty_id(client: Client, bad: object, error: type[Exception],
                                   reason: str) -> None:
    client.register(RING)
    with pytest.raises(error, match=reason):
        client.start("ring", bad)  # type: ignore[arg-type]
