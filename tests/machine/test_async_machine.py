"""The asyncio machine: awaited effects, when(), tasks bound to a state's lifetime."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from statekeeper import (
    AsyncMachine,
    Chart,
    Effect,
    EventNotAccepted,
    Final,
    Invoke,
    State,
    VirtualClock,
    compile_chart,
)

pytestmark = pytest.mark.asyncio


async def test_send_and_reject() -> None:
    chart = compile_chart(Chart("door", states={
        "closed": State(on={"open": "opened"}), "opened": State(on={"close": "closed"}),
    }))
    machine = AsyncMachine(chart)
    assert (await machine.send("open")).configuration == ("opened",)
    with pytest.raises(EventNotAccepted):
        await machine.send("open")


async def test_when_waits_for_a_state() -> None:
    chart = compile_chart(Chart("order", states={
        "new": State(on={"pay": "paid"}), "paid": Final(),
    }))
    machine = AsyncMachine(chart)
    waiter = asyncio.ensure_future(machine.when("paid"))
    await asyncio.sleep(0)
    assert not waiter.done()
    await machine.send("pay")
    await asyncio.wait_for(waiter, 1)
    await machine.when("paid")  # already there: returns at once
    with pytest.raises(KeyError):
        await machine.when("nope")


async def test_async_effect_is_awaited() -> None:
    chart = compile_chart(Chart("pay", states={
        "new": State(on={"go": "charging"}),
        "charging": State(entry=[Effect("charge")], on={"done.effect.charge": "paid"}),
        "paid": Final(),
    }))

    async def charge(args: dict[str, Any], key: str) -> str:
        await asyncio.sleep(0)
        return "ok"

    machine = AsyncMachine(chart, effects={"charge": charge})
    outcome = await machine.send("go")
    assert outcome.configuration == ("charging",)
    assert machine.configuration == ("paid",)


async def test_task_is_cancelled_when_its_state_is_left() -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def poll(params: dict[str, Any]) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    chart = compile_chart(Chart("watch", states={
        "watching": State(invoke=(Invoke(type="task", src="poll", id="poller"),),
                          on={"stop": "stopped"}),
        "stopped": Final(),
    }))
    machine = AsyncMachine(chart, tasks={"poll": poll}, clock=VirtualClock())
    await asyncio.wait_for(started.wait(), 1)
    await machine.send("stop")
    await asyncio.wait_for(cancelled.wait(), 1)


async def test_task_result_arrives_as_done_invoke() -> None:
    async def lookup(params: dict[str, Any]) -> str:
        return "paid-ads"

    chart = compile_chart(Chart("drip", states={
        "lookup": State(invoke=(Invoke(type="task", src="lookup", id="channel"),),
                        on={"done.invoke.channel": "welcome"}),
        "welcome": Final(),
    }))
    machine = AsyncMachine(chart, tasks={"lookup": lookup}, clock=VirtualClock())
    await asyncio.wait_for(machine.when("welcome"), 1)
