"""Machine regressions the property tests found: timers in snapshots, events with data.

Each was first seen as a disagreement between a machine and the pure step in
``test_properties.py``; here each is pinned by a plain example that fails without its fix.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from statekeeper import (
    AsyncMachine,
    Chart,
    CompiledChart,
    Event,
    Final,
    Machine,
    Send,
    State,
    Transition,
    VirtualClock,
    compile_chart,
    initial_step,
    step,
)

SESSION = "prop"


TIMER_CHART = Chart("timer", states={
    "idle": State(on={
        "go": Transition(None, actions=[Send(event="ping", delay=5)]),
        "go_named": Transition(None, actions=[Send(event="ping", delay=5, id="t")]),
        "ping": "pinged",
        "away": "elsewhere",
    }),
    "elsewhere": State(on={"back": "idle"}),  # does not accept ping
    "pinged": State(on={"ping": "twice"}),
    "twice": State(on={"reset": "idle"}),
})


def timer_machine() -> tuple[CompiledChart, VirtualClock, Machine]:
    """TIMER_CHART compiled, a virtual clock, and a machine of it on that clock."""
    chart = compile_chart(TIMER_CHART, checks="ignore")
    clock = VirtualClock()
    return chart, clock, Machine(chart, session=SESSION, clock=clock)


def test_a_fired_anonymous_timer_leaves_the_snapshot() -> None:
    # The timer of a <send> without id stayed in snapshot.timers after it fired (its event
    # carries no sendid), so a machine restored from the snapshot fired it again.
    chart, clock, machine = timer_machine()
    machine.send("go")
    clock.advance(5)
    assert machine.configuration == ("pinged",)
    restored = Machine.from_snapshot(chart, machine.snapshot.to_dict(), clock=clock)
    clock.advance(1)
    assert restored.configuration == ("pinged",), "the restored machine fired the timer again"
    assert machine.snapshot.timers == {}


@pytest.mark.parametrize("send", ["go", "go_named"])
def test_a_rejected_timer_event_leaves_the_machine_snapshot(send: str) -> None:
    # Found by test_machine_fast_path_agrees_with_the_pure_step: the pure step drops a fired
    # timer even when its event is then rejected; the machine kept it in its snapshot, so a
    # restore fired it a second time.
    chart, clock, machine = timer_machine()
    machine.send(send)
    machine.send("away")
    clock.advance(5)  # ping, rejected in "elsewhere"
    assert machine.configuration == ("elsewhere",)
    assert machine.snapshot.timers == {}
    restored = Machine.from_snapshot(chart, machine.snapshot.to_dict(), clock=clock)
    restored.send("back")
    clock.advance(10)
    assert restored.configuration == ("idle",)


def test_restarting_a_named_timer_replaces_the_pending_one() -> None:
    # A second <send id="t"> before the first fired: the snapshot keeps one timer, due at the
    # later time; the machine fired at the first due time (and never at the second).
    _, clock, machine = timer_machine()
    machine.send("go_named")
    clock.advance(3)
    machine.send("go_named")
    assert machine.snapshot.timers["t"]["due"] == 8.0
    clock.advance(2.5)
    assert machine.configuration == ("idle",)
    clock.advance(2.5)
    assert machine.configuration == ("pinged",)
    clock.advance(10)
    assert machine.configuration == ("pinged",)


@pytest.mark.parametrize("data", [{"k": 1}, [1, 2]])
def test_sending_an_event_object_with_data_uses_the_normal_path(data: Any) -> None:
    chart = compile_chart(Chart("flip", states={
        "a": State(on={"go": "b"}),
        "b": State(on={"go": "a"}),
    }))
    machine = Machine(chart)
    machine.send("go")
    machine.send("go")  # memoised now
    assert machine.send(Event("go", data)).configuration == ("b",)

    async def run() -> tuple[str, ...]:
        other = AsyncMachine(chart)
        return (await other.send(Event("go", data))).configuration

    assert asyncio.run(run()) == ("b",)


def test_reaching_a_top_level_final_state_cancels_pending_delayed_sends() -> None:
    # Found by the durable runtime's property test: the step kept the delayed sends of an
    # instance that had finished, so a runtime kept their rows.
    chart = compile_chart(Chart("finish", initial="idle", states={
        "idle": State(entry=[Send(event="late", delay=10), Send(event="later", id="t", delay=20)],
                      on={"stop": "stopped"}),
        "stopped": Final(),
    }))
    first = initial_step(chart)
    assert len(first.snapshot.timers) == 2
    result = step(chart, first.snapshot, "stop")
    assert result.snapshot.done and result.snapshot.timers == {}
    assert sorted(c.timer_id for c in result.cancelled_timers) == sorted(first.snapshot.timers)
    clock = VirtualClock()
    machine = Machine(chart, clock=clock)
    machine.send("stop")
    assert machine.snapshot.timers == {}
