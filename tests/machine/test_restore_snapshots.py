"""A malformed or foreign snapshot is refused by name, never half-loaded or a raw exception.

``Machine.from_snapshot`` used to take what ``Snapshot.from_dict`` let through: a timer without
``"due"`` raised a raw ``KeyError``, a ``"due"`` that is a string a ``TypeError`` from the clock,
NaN a timer that never fires; a configuration naming two siblings loaded a machine in two
states at once; history naming unknown states failed (or silently did the wrong thing) only
when the history was entered.  Each is now a :class:`SnapshotError` naming the field.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statekeeper import (
    AsyncMachine,
    Chart,
    Final,
    History,
    Machine,
    Snapshot,
    SnapshotError,
    State,
    StatekeeperError,
    VirtualClock,
    compile_chart,
)

CHART = compile_chart(Chart("desk", initial="work", states={
    "work": State(initial="typing", states={
        "typing": State(on={"pause": "thinking"}),
        "thinking": State(on={"resume": "typing"}),
        "h": History("deep"),
    }, on={"break": "rest"}, after={"1h": "rest"}),
    "rest": State(states={
        "body": State(initial="sit", states={"sit": State(on={"walk": "walking"}),
                                             "walking": State(on={"sit": "sit"})}),
        "mind": State(initial="calm", states={"calm": State(on={"worry": "busy"}),
                                              "busy": State(on={"calm": "calm"})}),
    }, kind="parallel", on={"back": "h", "leave": "gone"}),
    "gone": Final(),
}))
EVENTS = ["pause", "resume", "break", "walk", "sit", "worry", "calm", "back", "leave"]


def _valid() -> dict[str, Any]:
    clock = VirtualClock()
    machine = Machine(CHART, clock=clock, session="s-1")
    machine.send("pause")
    machine.send("break")  # history recorded, a parallel configuration
    machine.send("back")  # back in thinking, the 1h timer pending again
    return machine.snapshot.to_dict()


VALID = _valid()


def _with(change: Any) -> dict[str, Any]:
    raw = copy.deepcopy(VALID)
    change(raw)
    return raw


def _timer(raw: dict[str, Any]) -> dict[str, Any]:
    return next(iter(raw["timers"].values()))  # type: ignore[no-any-return]


BAD = {
    "timer without due": (lambda r: _timer(r).pop("due"), r"timers\[.*\]\.due"),
    "due a string": (lambda r: _timer(r).update(due="soon"), r"timers\[.*\]\.due"),
    "due NaN": (lambda r: _timer(r).update(due=float("nan")), r"timers\[.*\]\.due"),
    "due infinite": (lambda r: _timer(r).update(due=float("inf")), r"timers\[.*\]\.due"),
    "due a bool": (lambda r: _timer(r).update(due=True), r"timers\[.*\]\.due"),
    "timer event missing": (lambda r: _timer(r).pop("event"), r"timers\[.*\]\.event"),
    "timer event nameless": (lambda r: _timer(r)["event"].pop("name"), r"timers\[.*\]\.event"),
    "timer event a list": (lambda r: _timer(r).update(event=[1]), r"timers\[.*\]\.event"),
    "timer target a number": (lambda r: _timer(r).update(target=3), r"timers\[.*\]\.target"),
    "timer a string": (lambda r: r["timers"].update(t="x"), r"timers\['t'\]"),
    "timer late policy": (lambda r: _timer(r).update(late="never"), r"timers\[.*\]\.late"),
    "unknown state": (lambda r: r["configuration"].append("nowhere"), r"nowhere"),
    "two siblings": (lambda r: r["configuration"].append("typing"), r"work"),
    "a state twice": (lambda r: r["configuration"].append("thinking"), r"twice|thinking"),
    "no parent": (lambda r: r.update(configuration=["thinking"]), r"parent"),
    "a region missing": (lambda r: r.update(configuration=["rest", "body", "sit"]), r"mind"),
    "empty configuration": (lambda r: r.update(configuration=[]), r"empty"),
    "history of no state": (lambda r: r["history"].update(nope=["typing"]), r"nope"),
    "history naming unknown": (lambda r: r["history"].update(h=["elsewhere"]), r"elsewhere"),
    "history a string": (lambda r: r["history"].update(h="typing"), r"history\['h'\]"),
    "history of a non-history": (lambda r: r["history"].update(typing=["thinking"]),
                                 r"typing"),
    "negative counter": (lambda r: r.update(counter=-1), r"counter"),
    "counter a float": (lambda r: r.update(counter=1.5), r"counter"),
    "version a bool": (lambda r: r.update(version=True), r"version"),
    "parent a number": (lambda r: r.update(parent=7), r"parent"),
    "data with int keys": (lambda r: r["data"].update({1: 2}), r"data"),
    "data with NaN": (lambda r: r["data"].update(x=float("nan")), r"data"),
    "invoke of no state": (lambda r: r["invokes"].update(i={"state": "nope", "index": 0}),
                           r"invokes\['i'\]"),
    "invoke index out of range": (lambda r: r["invokes"].update(i={"state": "work", "index": 5}),
                                  r"invokes\['i'\]"),
    "invoke a list": (lambda r: r["invokes"].update(i=[]), r"invokes\['i'\]"),
    "done a string": (lambda r: r.update(done="no"), r"done"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_malformed_snapshot_is_refused_by_name(case: str) -> None:
    change, where = BAD[case]
    raw = _with(change)
    with pytest.raises(SnapshotError, match=where):
        Machine.from_snapshot(CHART, raw, clock=VirtualClock())

    async def restore() -> None:
        AsyncMachine.from_snapshot(CHART, raw, clock=VirtualClock())

    with pytest.raises(SnapshotError, match=where):
        asyncio.run(restore())


def test_the_valid_snapshot_restores_and_runs() -> None:
    clock = VirtualClock()
    machine = Machine.from_snapshot(CHART, copy.deepcopy(VALID), clock=clock)
    assert machine.configuration == ("work", "thinking")
    clock.advance(3600)
    assert machine.configuration == ("rest", "body", "sit", "mind", "calm")


def test_snapshot_json_round_trips_and_refuses_what_json_cannot_hold() -> None:
    snap = Snapshot.from_json(json.dumps(VALID))
    assert snap.to_dict() == VALID
    assert Snapshot.from_json(snap.to_json()) == snap
    for text in ("", "[", '{"format": NaN}', "\udc80", b"\xff\xfe", json.dumps(VALID)[:-1],
                 "[" * 100_000):
        with pytest.raises(SnapshotError):
            Snapshot.from_json(text)


def test_a_machine_whose_data_json_cannot_hold_refuses_to_write_it() -> None:
    machine = Machine(CHART, clock=VirtualClock())
    bad = Snapshot(**{**{f: getattr(machine.snapshot, f) for f in Snapshot.__slots__},
                      "data": {"x": float("nan"), 1: 2}})
    with pytest.raises(StatekeeperError, match=r"\$\.data\.x: nan"):
        bad.to_json()


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*path, i))
    return out


PATHS = [p for p in _paths(VALID) if p]
VALUES = st.none() | st.booleans() | st.integers(-3, 10**20) | st.floats() | st.text(max_size=8) \
    | st.sampled_from(["work", "typing", "thinking", "h", "rest", "body", "sit", "mind", "gone",
                       "desk.send.1", "statekeeper.after.work.0"]) \
    | st.lists(st.sampled_from(["work", "typing", "rest", "gone", "h", "x"]), max_size=4) \
    | st.dictionaries(st.text(max_size=3), st.integers() | st.text(max_size=3), max_size=2)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.sampled_from(PATHS), VALUES, st.booleans()), min_size=1,
                      max_size=3))
def test_a_mutated_snapshot_is_refused_by_name_or_runs(edits: list[Any]) -> None:
    raw = copy.deepcopy(VALID)
    for path, value, drop in edits:
        parent: Any = raw
        try:
            for key in path[:-1]:
                parent = parent[key]
            if drop and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit changed the shape: this path is gone
    clock = VirtualClock()
    try:
        machine = Machine.from_snapshot(CHART, raw, clock=clock)
    except SnapshotError:
        return
    # a machine that works: every event is taken or refused by name, timers fire, and its
    # snapshot is standard JSON that restores again
    for event in EVENTS:
        with contextlib.suppress(StatekeeperError):  # taken, or refused by name
            machine.send(event)
        clock.advance(1800)
    again = Machine.from_snapshot(CHART, json.loads(machine.snapshot.to_json()),
                                  clock=VirtualClock())
    assert again.configuration == machine.configuration
