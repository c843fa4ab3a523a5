"""A machine refuses a malformed event or data with a TypeError or ValueError that says why.

Before, ``send(5)`` raised an ``AttributeError`` from inside the step, ``send(None)`` and
``send("")`` were "not accepted" as if they were events, and ``data=[1]`` failed inside
``dict()``.  Nothing changes when one is refused.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from statekeeper import (
    AsyncMachine,
    Chart,
    Event,
    Final,
    Machine,
    ReservedEventName,
    State,
    VirtualClock,
    compile_chart,
)

DOOR = compile_chart(Chart("door", initial="closed", states={
    "closed": State(on={"open": "opened"}),
    "opened": State(on={"close": "closed"}),
}))


@pytest.mark.parametrize(("event", "error", "reason"), [
    (5, TypeError, r"name \(str\) or an Event, not 5"),
    (None, TypeError, r"not None"),
    ("", ValueError, r"empty"),
])
def test_send_refuses_what_is_not_an_event(event: Any, error: type[Exception],
                                           reason: str) -> None:
    machine = Machine(DOOR)
    machine.send("open")  # the memoised path is taken for known names: the check is after it
    with pytest.raises(error, match=reason):
        machine.send(event)
    assert machine.configuration == ("opened",)

    async def run() -> None:
        other = AsyncMachine(DOOR)
        with pytest.raises(error, match=reason):
            await other.send(event)
        assert other.configuration == ("closed",)

    asyncio.run(run())


def test_data_must_be_a_mapping() -> None:
    with pytest.raises(TypeError, match=r"data= takes a mapping"):
        Machine(DOOR, data=[1])  # type: ignore[arg-type]


TIMED = compile_chart(Chart("offer", initial="waiting", states={
    "waiting": State(on={"answer": "answered"}, after={"5m": "expired"}),
    "answered": Final(), "expired": Final(),
}))


@pytest.mark.parametrize("event", [
    "statekeeper.after.waiting.0",  # the name the five-minute timer fires with
    Event("statekeeper.after.waiting.0"),
    "statekeeper.timer.skipped",
])
def test_send_refuses_the_reserved_prefix_as_clients_do(event: str | Event) -> None:
    clock = VirtualClock()
    machine = Machine(TIMED, clock=clock)
    for _ in range(2):  # a refused name is never remembered for the fast path either
        with pytest.raises(ReservedEventName, match=r"'statekeeper\.' are reserved") as caught:
            machine.send(event)
        assert isinstance(caught.value, ValueError)  # what clients raised before: still caught
    assert machine.configuration == ("waiting",)
    clock.advance(300)
    assert machine.configuration == ("expired",)  # the real timer still fires, on time

    async def run() -> None:
        other = AsyncMachine(TIMED, clock=VirtualClock())
        with pytest.raises(ReservedEventName):
            await other.send(event)
        assert other.configuration == ("waiting",)

    asyncio.run(run())
