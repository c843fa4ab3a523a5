"""A machine's data changes only through its steps, never behind their back (SEM-22).

``Machine.data`` was the live dict the next step read, and ``machine.snapshot.data`` shared its
nested lists and dicts: a caller writing into either changed the instance without any event,
and the change was carried into every later snapshot.  ``data`` is now a read-only view (as
guards get), and a snapshot, the data given to start and a restored snapshot are copies.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from statekeeper import Assign, Chart, Machine, State, Transition, VirtualClock, compile_chart


def _machine(**kwargs: object) -> Machine:
    chart = compile_chart(Chart("cart", initial="open", states={
        "open": State(on={"add": Transition(actions=[Assign("n", expr="n + 1")])}),
    }, data={"n": 0, "items": ["a"], "meta": {"k": "v"}}, datamodel="python"), trusted=True)
    return Machine(chart, clock=VirtualClock(), **kwargs)  # type: ignore[arg-type]


def test_data_is_a_read_only_view() -> None:
    machine = _machine()
    data = machine.data
    assert isinstance(data, Mapping) and data == {"n": 0, "items": ["a"], "meta": {"k": "v"}}
    with pytest.raises(TypeError):
        data["n"] = 5  # type: ignore[index]
    with pytest.raises((TypeError, AttributeError)):
        data["items"].append("b")
    machine.send("add")
    assert machine.data == {"n": 1, "items": ["a"], "meta": {"k": "v"}}
    mine = machine.data.copy()  # a writable copy for the caller
    mine["items"].append("b")
    assert machine.data["items"] == ["a"]


def test_a_snapshot_is_a_copy() -> None:
    machine = _machine()
    snap = machine.snapshot
    snap.data["items"].append("b")
    snap.data["meta"]["k"] = "changed"
    snap.data["n"] = 99
    assert machine.data == {"n": 0, "items": ["a"], "meta": {"k": "v"}}
    machine.send("add")
    assert machine.snapshot.data == {"n": 1, "items": ["a"], "meta": {"k": "v"}}


def test_start_data_and_restored_snapshots_are_copies() -> None:
    given = {"n": 5, "items": ["x"], "meta": {"k": "w"}}
    machine = _machine(data=given)
    given["items"].append("y")
    given["meta"]["k"] = "changed"
    assert machine.data == {"n": 5, "items": ["x"], "meta": {"k": "w"}}
    raw = machine.snapshot.to_dict()
    restored = Machine.from_snapshot(machine.chart, raw, clock=VirtualClock())
    raw["data"]["items"].append("z")
    assert restored.data == {"n": 5, "items": ["x"], "meta": {"k": "w"}}


@pytest.mark.parametrize("given", ["name", "event"])
@pytest.mark.asyncio
async def test_a_payload_kept_in_data_is_not_shared_with_the_sender(given: str) -> None:
    """An assign that keeps the event's payload keeps a copy: the caller's dict stays theirs."""
    from statekeeper import AsyncMachine, Event

    chart = compile_chart(Chart("cart", initial="open", states={
        "open": State(on={"put": Transition(actions=[Assign("items", expr="take")])}),
    }), functions={"take": lambda data, event: event.data["items"]})
    for machine in (Machine(chart, clock=VirtualClock()), AsyncMachine(chart, clock=VirtualClock())):
        payload = {"items": [1, 2]}
        sent = Event("put", payload) if given == "event" else "put"
        outcome = machine.send(sent, None if given == "event" else payload)
        if not isinstance(machine, Machine):
            await outcome  # type: ignore[misc]
        payload["items"].append(3)
        assert machine.data["items"] == [1, 2]
