"""Snapshots that name another version, routed to migrations (issue 18, item 7).

A machine restored from a snapshot of v1 into v3 goes through the migrations it is given,
exactly as a durable instance would; with no migrations, or none that leads there, it is
refused with the reason.
"""

from __future__ import annotations

import asyncio

import pytest

from statekeeper import (
    AsyncMachine,
    Machine,
    NoMigrationPath,
    SnapshotMismatch,
    UnmappedState,
    VirtualClock,
    compile_chart,
)
from statekeeper.core.migration import Migration
from statekeeper.examples.versions import (
    ORDER_V1,
    ORDER_V1_TO_V2,
    ORDER_V2,
    ORDER_V2_TO_V3,
    ORDER_V3,
)

V1, V2, V3 = (compile_chart(c) for c in (ORDER_V1, ORDER_V2, ORDER_V3))
EFFECTS = {"charge": lambda args: None, "refund": lambda args: None}


def v1_snapshot(*events: str) -> object:
    clock = VirtualClock(0.0)
    machine = Machine(V1, clock=clock, effects=EFFECTS)
    for event in ("done.effect.charge", *events):
        machine.send(event)
    clock.advance(30.0)
    return machine.snapshot.to_dict()


def test_a_v1_snapshot_is_routed_through_v2_into_v3() -> None:
    clock = VirtualClock(30.0)
    machine = Machine.from_snapshot(V3, v1_snapshot("accept", "courier_accepted", "picked_up"),
                                    migrations=[ORDER_V1_TO_V2, ORDER_V2_TO_V3],
                                    versions=[V1, V2], clock=clock, effects=EFFECTS)
    assert machine.configuration == ("Dispatching", "Restaurant", "Cooking", "Courier",
                                     "OutForDelivery")
    assert machine.send("delivered").configuration == ("Delivered",)


def test_an_offered_snapshots_timers_come_along() -> None:
    clock = VirtualClock(30.0)
    machine = Machine.from_snapshot(V2, v1_snapshot(), migrations=[ORDER_V1_TO_V2],
                                    versions=[V1], clock=clock, effects=EFFECTS)
    clock.advance(270.0)  # the restaurant's 5 minutes, counted from the offer at 0
    assert machine.configuration == ("Cancelled",)


def test_async_machines_route_too() -> None:
    async def main() -> tuple[str, ...]:
        machine = AsyncMachine.from_snapshot(V2, v1_snapshot(), migrations=[ORDER_V1_TO_V2],
                                             versions=[V1], clock=VirtualClock(30.0),
                                             effects=EFFECTS)
        return machine.configuration

    assert asyncio.run(main())[:3] == ("Dispatching", "Restaurant", "AwaitingRestaurant")


@pytest.mark.parametrize(("kwargs", "error", "reason"), [
    ({}, SnapshotMismatch, "cannot be loaded"),
    ({"migrations": [ORDER_V2_TO_V3], "versions": [V1, V2]}, NoMigrationPath,
     "no migration given leads from 'order' v1 to v3"),
    ({"migrations": [ORDER_V1_TO_V2, ORDER_V2_TO_V3], "versions": [V1]}, NoMigrationPath,
     "goes through v2, whose chart is not given"),
    ({"migrations": [ORDER_V1_TO_V2, ORDER_V2_TO_V3], "versions": [V2]}, NoMigrationPath,
     "v1 .* whose chart is not given"),
    ({"migrations": [Migration("order", 1, 2), ORDER_V2_TO_V3], "versions": [V1, V2]},
     UnmappedState, "'OfferedToRestaurant'"),
])
def test_without_a_way_there_it_is_refused_with_the_reason(
        kwargs: dict[str, object], error: type[Exception], reason: str) -> None:
    with pytest.raises(error, match=reason):
        Machine.from_snapshot(V3, v1_snapshot(), clock=VirtualClock(30.0), effects=EFFECTS,
                              **kwargs)  # type: ignore[arg-type]
