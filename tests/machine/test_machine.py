"""The synchronous in-memory machine: sending, rejecting, timers, effects, snapshots."""

from __future__ import annotations

import json
from typing import Any

import pytest

from statekeeper import (
    Assign,
    Cancel,
    Chart,
    Effect,
    EventNotAccepted,
    Final,
    Invoke,
    Machine,
    MachineFinished,
    Parallel,
    Send,
    SnapshotError,
    SnapshotMismatch,
    State,
    Transition,
    UnboundName,
    VirtualClock,
    compile_chart,
)
from statekeeper.core import Content, Microstep

LIGHT = compile_chart(Chart("light", initial="off", states={
    "off": State(on={"flip": "on"}, ignore=("off",)),
    "on": State(on={"flip": "off", "break": "broken"}),
    "broken": Final(),
}))


def test_send_returns_what_happened() -> None:
    machine = Machine(LIGHT)
    outcome = machine.send("flip")
    assert outcome.status == "applied"
    assert outcome.configuration == ("on",)
    assert outcome.microsteps[0].transitions == (("off", ("on",)),)
    assert machine.configuration == ("on",)


def test_unaccepted_event_raises_and_changes_nothing() -> None:
    machine = Machine(LIGHT)
    before = machine.snapshot
    with pytest.raises(EventNotAccepted) as info:
        machine.send("break")
    assert info.value.event == "break"
    assert info.value.configuration == ("off",)
    assert machine.snapshot == before


def test_ignorable_event_is_not_an_error() -> None:
    machine = Machine(LIGHT)
    assert machine.send("off").status == "ignored"
    assert machine.configuration == ("off",)


def test_finished_machine_refuses_events() -> None:
    machine = Machine(LIGHT)
    machine.send("flip")
    machine.send("break")
    assert machine.done
    with pytest.raises(MachineFinished):
        machine.send("flip")


def test_fast_path_and_slow_path_agree_over_many_sends() -> None:
    fresh = compile_chart(LIGHT.definition)
    first, second = Machine(fresh), Machine(fresh)
    for _ in range(5):
        assert first.send("flip") == second.send("flip")
    assert first.configuration == second.configuration


def test_after_fires_on_the_clock_and_is_cancelled_on_exit() -> None:
    chart = compile_chart(Chart("offer", initial="waiting", states={
        "waiting": State(on={"answer": "answered"}, after={"5m": "expired"}),
        "answered": State(on={"reopen": "waiting"}),
        "expired": Final(),
    }))
    clock = VirtualClock()
    machine = Machine(chart, clock=clock)
    clock.advance(299)
    assert machine.configuration == ("waiting",)
    machine.send("answer")
    clock.advance(3600)
    assert machine.configuration == ("answered",), "a timer cancelled on exit must not fire"
    machine.send("reopen")
    clock.advance(300)
    assert machine.configuration == ("expired",)


def test_delayed_send_and_cancel() -> None:
    chart = compile_chart(Chart("reminder", initial="idle", states={
        "idle": State(on={
            "schedule": Transition(actions=[Send(event="ping", delay="2s", id="r1")]),
            "unschedule": Transition(actions=[Cancel(sendid="r1")]),
            "ping": "pinged",
        }),
        "pinged": Final(),
    }))
    clock = VirtualClock()
    machine = Machine(chart, clock=clock)
    machine.send("schedule")
    assert machine.snapshot.timers["r1"]["due"] == 2.0
    machine.send("unschedule")
    clock.advance(10)
    assert machine.configuration == ("idle",)
    machine.send("schedule")
    clock.advance(2)
    assert machine.configuration == ("pinged",)


PAY = Chart("pay", initial="charging", states={
    "charging": State(
        entry=[Effect("charge", args={"amount": 5})],
        on={
            "done.effect.charge": Transition("paid", actions=[Assign("receipt", "receipt")]),
            "error.effect.charge": "failed",
        },
    ),
    "paid": Final(),
    "failed": Final(),
})


def _receipt(data: Any, event: Any) -> Any:
    return event.data


def test_effect_result_comes_back_as_an_event() -> None:
    chart = compile_chart(PAY, functions={"receipt": _receipt})
    seen: list[tuple[dict[str, Any], str]] = []

    def charge(args: dict[str, Any], key: str) -> str:
        seen.append((args, key))
        return "rcpt-1"

    machine = Machine(chart, session="p-1", effects={"charge": charge})
    assert machine.configuration == ("paid",)
    assert machine.data["receipt"] == "rcpt-1"
    assert seen == [({"amount": 5}, "p-1:1:charge")]


def test_effect_failure_comes_back_as_an_error_event() -> None:
    chart = compile_chart(PAY, functions={"receipt": _receipt})

    def charge(args: dict[str, Any], key: str) -> str:
        raise ConnectionError("card API down")

    machine = Machine(chart, effects={"charge": charge})
    assert machine.configuration == ("failed",)


def test_unbound_effect_fails_when_the_machine_is_made() -> None:
    chart = compile_chart(PAY, functions={"receipt": _receipt})
    with pytest.raises(UnboundName, match="charge"):
        Machine(chart)


def test_listeners_see_every_microstep() -> None:
    steps: list[Microstep] = []
    machine = Machine(LIGHT, listeners=[steps.append])
    machine.send("flip")
    machine.send("flip")
    assert [s.configuration for s in steps] == [("on",), ("off",)]


def test_snapshot_round_trips_through_json_and_keeps_timers() -> None:
    chart = compile_chart(Chart("offer", initial="waiting", states={
        "waiting": State(on={"answer": "answered"}, after={"5m": "expired"}),
        "answered": Final(),
        "expired": Final(),
    }))
    clock = VirtualClock()
    machine = Machine(chart, clock=clock, session="s-9")
    saved = json.loads(json.dumps(machine.snapshot.to_dict()))
    machine.close()
    clock.advance(60)
    restored = Machine.from_snapshot(chart, saved, clock=clock)
    assert restored.session == "s-9"
    clock.advance(240)
    assert restored.configuration == ("expired",)


def test_snapshot_from_another_chart_is_refused() -> None:
    other = compile_chart(Chart("light", initial="off", states={
        "off": State(on={"flip": "on"}), "on": State(on={"flip": "off"}),
    }))
    snapshot = Machine(LIGHT).snapshot
    with pytest.raises(SnapshotMismatch):
        Machine.from_snapshot(other, snapshot)


@pytest.mark.parametrize("broken", [
    {},
    {"format": "pickle"},
    "not a dict",
    {**Machine(LIGHT).snapshot.to_dict(), "configuration": "off"},
    {**Machine(LIGHT).snapshot.to_dict(), "counter": "7"},
])
def test_corrupted_snapshot_is_refused(broken: Any) -> None:
    with pytest.raises(SnapshotError):
        Machine.from_snapshot(LIGHT, broken)


def test_snapshot_naming_unknown_states_is_refused() -> None:
    raw = Machine(LIGHT).snapshot.to_dict()
    raw["configuration"] = ["nowhere"]
    with pytest.raises(SnapshotError, match="nowhere"):
        Machine.from_snapshot(LIGHT, raw)


def test_invoked_child_chart_talks_to_its_parent() -> None:
    child = Chart("child", initial="working", states={
        "working": State(entry=[Send(event="progress", target="#_parent")],
                         on={"finish": "finished"}),
        "finished": Final(),
    })
    parent = compile_chart(Chart("parent", initial="waiting", states={
        "waiting": State(
            invoke=(Invoke(id="worker", content=Content(value=child)),),
            on={
                "progress": Transition(actions=[Send(event="finish", target="#_worker")]),
                "done.invoke.worker": "complete",
            },
        ),
        "complete": Final(),
    }))
    machine = Machine(parent)
    assert machine.configuration == ("complete",)


def test_machine_refuses_a_non_chart() -> None:
    with pytest.raises(TypeError, match="Chart"):
        Machine("light")  # type: ignore[arg-type]


def test_parallel_regions_both_take_the_event() -> None:
    chart = compile_chart(Chart("p", states={"p": Parallel(states={
        "r1": State(states={"a1": State(on={"tick": "a2"}), "a2": State(on={"tick": "a1"})}),
        "r2": State(states={"b1": State(on={"tick": "b2"}), "b2": State(on={"tick": "b1"})}),
    })}))
    machine = Machine(chart)
    assert machine.send("tick").configuration == ("p", "r1", "a2", "r2", "b2")
    assert machine.is_active("a2") and "b2" in machine
    with pytest.raises(KeyError):
        machine.is_active("nope")


def test_a_fired_timer_leaves_the_snapshot() -> None:
    chart = compile_chart(Chart("nag", initial="waiting", states={
        "waiting": State(on={
            "arm": Transition(actions=[Send(event="nudge", delay="1s")]),
            "nudge": Transition(actions=[Assign("nudged", value=True)]),
        }),
    }), checks="ignore")
    clock = VirtualClock()
    machine = Machine(chart, clock=clock)
    machine.send("arm")
    assert len(machine.snapshot.timers) == 1
    clock.advance(1)
    assert machine.data["nudged"] is True
    assert machine.snapshot.timers == {}, "a restored snapshot must not fire it again"
