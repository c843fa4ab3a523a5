"""Golden traces: fixed event scripts run through the pure step, compared with recorded JSON.

Each file in ``tests/core/golden/`` records, per step, the event, the status, the
configuration, the data, a summary of the commands and the microsteps.  A change in semantics
shows up as a readable diff of these files.  After an intended change, regenerate them with
``STATEKEEPER_UPDATE_GOLDEN=1 python -m pytest tests/core/test_golden.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from statekeeper import (
    Assign,
    Call,
    Chart,
    DoneData,
    Event,
    Final,
    History,
    Log,
    MachineFinished,
    Parallel,
    Param,
    Raise,
    State,
    Transition,
    compile_chart,
    initial_step,
    step,
)
from statekeeper.core import (
    CancelTimer,
    Command,
    LogEntry,
    Microstep,
    RunEffect,
    SendEvent,
    StartTimer,
)
from statekeeper.core.compile import CompiledChart
from statekeeper.examples.order import compile_order

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("STATEKEEPER_UPDATE_GOLDEN") == "1"
SESSION = "golden"


@dataclass(frozen=True)
class Deliver:
    """Send ``event`` (with ``data``) at time ``at``."""

    event: str
    data: Any = None
    at: float = 0.0


@dataclass(frozen=True)
class Fire:
    """Fire the pending timer ``timer_id`` at its due time."""

    timer_id: str


@dataclass(frozen=True)
class Script:
    name: str
    compile: Callable[[], CompiledChart]
    items: list[Deliver | Fire]
    data: Mapping[str, Any] | None = field(default=None)


# --------------------------------------------------------------------------- charts


def _player() -> CompiledChart:
    """Shallow and deep history, a history default with actions, entry/exit order."""
    return compile_chart(Chart("player", initial="Off", states={
        "Off": State(on={"power": "On", "resume": "hist_deep", "resume_shallow": "hist_shallow"}),
        "On": State(
            initial="Media",
            entry=Log("enter", value="On"),
            exit=Log("exit", value="On"),
            on={"off": "Off"},
            states={
                "Radio": State(initial="FM", on={"media": "Media"}, states={
                    "FM": State(on={"band": "AM"}),
                    "AM": State(on={"band": "FM"}),
                    "radio_h": History("shallow", default=Transition(
                        "AM", actions=[Log("history default", value="AM")])),
                }),
                "Media": State(
                    initial="Stopped",
                    entry=Log("enter", value="Media"),
                    exit=Log("exit", value="Media"),
                    on={"radio": "radio_h"},
                    states={
                        "Stopped": State(on={"play": "Playing"}),
                        "Playing": State(on={"stop": "Stopped"}),
                    },
                ),
                "hist_shallow": History("shallow"),
                "hist_deep": History("deep"),
            },
        ),
    }))


PLAYER = Script("history", _player, [
    Deliver("power"), Deliver("radio"), Deliver("band"), Deliver("media"), Deliver("play"),
    Deliver("off"), Deliver("resume"), Deliver("off"), Deliver("resume_shallow"), Deliver("radio"),
    Deliver("band"), Deliver("off"), Deliver("resume"), Deliver("play"),
])


def _artifact(data: Mapping[str, Any], event: Event | None) -> Any:
    assert event is not None
    return event.data["artifact"]


def _job() -> CompiledChart:
    """A parallel state: done.state of a region (with donedata) and of the whole parallel."""
    return compile_chart(Chart("job", data={"artifact": None}, states={
        "Work": Parallel(
            states={
                "Build": State(initial="Compiling", states={
                    "Compiling": State(on={"compiled": "Built"}),
                    "Built": Final(donedata=DoneData(params=(Param("artifact", value="app.bin"),))),
                }),
                "Test": State(initial="Running", states={
                    "Running": State(on={"passed": "Passed", "failed": "Failed"}),
                    "Failed": State(on={"retry": "Running"}),
                    "Passed": Final(),
                }),
            },
            on={
                "done.state.Build": Transition(None, actions=[Assign("artifact", expr="artifact")]),
                "done.state.Work": "Released",
                "cancel": "Cancelled",
            },
        ),
        "Released": Final(),
        "Cancelled": Final(),
    }), functions={"artifact": _artifact})


JOB = Script("parallel_done", _job, [
    Deliver("failed"), Deliver("compiled"), Deliver("compiled"), Deliver("retry"), Deliver("passed"),
    Deliver("cancel"),
])


def _bump(data: Mapping[str, Any], event: Event | None) -> dict[str, Any]:
    return {**data, "n": data["n"] + 1}


def _counter() -> CompiledChart:
    """Internal vs external transitions, targetless transitions, eventless chains, raise."""
    return compile_chart(Chart("counter", data={"n": 0}, states={
        "Idle": State(on={"start": "Active"}),
        "Active": State(
            initial="Low",
            entry=Log("enter", value="Active"),
            exit=Log("exit", value="Active"),
            on={
                "inc": Transition(None, actions=[Call("bump")]),
                "reset_internal": Transition("Low", type="internal", actions=[Assign("n", value=0)]),
                "reset_external": Transition("Low", actions=[Assign("n", value=0)]),
                "peak": Transition(None, actions=[Log("peak", value="reached")]),
            },
            states={
                "Low": State(
                    entry=Log("enter", value="Low"), exit=Log("exit", value="Low"),
                    always=Transition("High", cond="n_ge_2"),
                ),
                "High": State(
                    entry=[Log("enter", value="High"), Raise("peak")],
                    exit=Log("exit", value="High"),
                    always=Transition("Saturated", cond="n_ge_4"),
                ),
                "Saturated": State(always="Done"),
            },
        ),
        "Done": Final(),
    }), guards={"n_ge_2": lambda d, e: d["n"] >= 2, "n_ge_4": lambda d, e: d["n"] >= 4},
        functions={"bump": _bump})


COUNTER = Script("internal_eventless", _counter, [
    Deliver(name) for name in (
        "inc", "start", "inc", "inc", "reset_internal", "inc", "inc", "reset_external",
        "inc", "inc", "inc", "inc", "inc",
    )
])

ORDER = Script("order", compile_order, [
    Deliver("error.effect.charge", {"error": "card declined"}),
    Deliver("done.effect.charge", {"charge_id": "ch-1"}),
    Deliver("accept", at=10),
    Deliver("courier_declined", {"courier": "ann"}, at=20),
    Deliver("courier_accepted", {"courier": "cy"}, at=30),
    Fire("statekeeper.after.FindingCourier.0"),
    Deliver("courier_accepted", {"courier": "cy"}, at=90),
    Deliver("picked_up", at=95),
    Deliver("food_ready", at=100),
    Deliver("picked_up", at=110),
    Deliver("delivered", at=120),
    Deliver("accept", at=130),
], data={"couriers": ["ann", "bob", "cy"], "order_id": "o-1", "total": 2350})

SCRIPTS = [ORDER, PLAYER, JOB, COUNTER]


# --------------------------------------------------------------------------- tracing


def summarise(command: Command) -> str:
    if isinstance(command, RunEffect):
        return f"effect {command.name} {json.dumps(command.args, sort_keys=True)} key={command.key}"
    if isinstance(command, StartTimer):
        return f"start timer {command.timer_id} due {command.due:g}: {command.event.name}"
    if isinstance(command, CancelTimer):
        return f"cancel timer {command.timer_id}"
    if isinstance(command, SendEvent):
        return f"send {command.event.name} to {command.target or 'self'}"
    if isinstance(command, LogEntry):
        return f"log {command.label}: {json.dumps(command.value)}"
    return repr(command)


def microstep(micro: Microstep) -> dict[str, Any]:
    return {
        "event": micro.event,
        "transitions": [f"{source} -> {' '.join(targets) or '(targetless)'}"
                        for source, targets in micro.transitions],
        "exited": list(micro.exited),
        "entered": list(micro.entered),
        "configuration": list(micro.configuration),
    }


def trace(script: Script) -> dict[str, Any]:
    chart = script.compile()
    result = initial_step(chart, session=SESSION, data=dict(script.data or {}))
    snapshot = result.snapshot
    steps: list[dict[str, Any]] = []

    def record(event: str | None, status: str, at: float, result: Any) -> None:
        steps.append({
            "event": event,
            "at": at,
            "status": status,
            "configuration": list(snapshot.configuration),
            "data": snapshot.data,
            "commands": [summarise(c) for c in result.commands] if result else [],
            "microsteps": [microstep(m) for m in result.microsteps] if result else [],
        })

    record(None, "applied", 0.0, result)
    for item in script.items:
        if isinstance(item, Fire):
            raw = snapshot.timers[item.timer_id]
            event, at = Event.from_dict(raw["event"]), raw["due"]
        else:
            event, at = Event(item.event, item.data), float(item.at)
        try:
            result = step(chart, snapshot, event, now=at)
        except MachineFinished:
            record(event.name, "finished", at, None)
            continue
        if result.status != "rejected":
            snapshot = result.snapshot
        record(event.name, result.status, at, result)
    return {"chart": chart.name, "session": SESSION, "initial_data": script.data,
            "steps": steps}


def dump(value: dict[str, Any]) -> str:
    """JSON with one step field, command and microstep per line, for readable diffs."""
    lines = ["{"]
    for key in ("chart", "session", "initial_data"):
        lines.append(f"  {json.dumps(key)}: {json.dumps(value[key], sort_keys=True)},")
    lines.append('  "steps": [')
    for index, entry in enumerate(value["steps"]):
        fields = []
        for key, item in entry.items():
            if key in ("commands", "microsteps") and item:
                inner = ",\n".join(f"        {json.dumps(x, sort_keys=True)}" for x in item)
                fields.append(f"      {json.dumps(key)}: [\n{inner}\n      ]")
            else:
                fields.append(f"      {json.dumps(key)}: {json.dumps(item, sort_keys=True)}")
        comma = "," if index < len(value["steps"]) - 1 else ""
        lines.append("    {\n" + ",\n".join(fields) + "\n    }" + comma)
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_golden_trace(script: Script) -> None:
    path = GOLDEN / f"{script.name}.json"
    got = json.loads(json.dumps(trace(script)))
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(dump(got), encoding="utf-8")
    assert path.exists(), f"no golden file {path}: run with STATEKEEPER_UPDATE_GOLDEN=1"
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert got["steps"][0] == expected["steps"][0], "the initial step differs"
    for index, (want, have) in enumerate(zip(expected["steps"], got["steps"], strict=False)):
        assert have == want, f"step {index} ({want['event']!r}) differs from {path.name}"
    assert got == expected


def test_dump_round_trips() -> None:
    value = trace(COUNTER)
    assert json.loads(dump(json.loads(json.dumps(value)))) == json.loads(json.dumps(value))
