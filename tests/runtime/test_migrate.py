"""Migrating live instances through the client, on every store (docs/versioning.md).

The food-delivery order (v1, v2 courier-first, v3 self-delivery) and the onboarding drip
(v2 looks the channel up first), with instances in every state, timers pending and effects
in flight; a dry run that writes nothing; batches bounded per transaction; bad input refused
by name before anything is written; an instance whose data map fails stays and is reported.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from statekeeper import (
    Migration,
    MigrationError,
    NoMigrationPath,
    UnknownMappedState,
    UnmappedState,
    VersionCycle,
    VirtualClock,
)
from statekeeper.client import AsyncClient, Client
from statekeeper.examples.versions import (
    ONBOARDING_FUNCTIONS,
    ONBOARDING_V1,
    ONBOARDING_V1_TO_V2,
    ONBOARDING_V2,
    ORDER_V1,
    ORDER_V1_TO_V2,
    ORDER_V2,
    ORDER_V2_TO_V3,
    ORDER_V3,
)
from statekeeper.runtime.registry import UnknownChart


class Calls:
    """Effects that record their idempotency keys."""

    def __init__(self) -> None:
        self.keys: list[tuple[str, str]] = []

    def __call__(self, name: str) -> Any:
        def run(args: Any, key: str) -> Any:
            self.keys.append((name, key))
            return {"ok": name}
        return run

    def bind(self, *names: str) -> dict[str, Any]:
        return {n: self(n) for n in names}


#: what each order is sent, from a paid order offered to the restaurant (its state in v1)
ORDERS = {
    "o-offered": [],  # the restaurant's 5-minute deadline is pending
    "o-cooking": ["accept"],  # a courier offer's 60 s timer is pending
    "o-ready-assigned": ["accept", "food_ready", "courier_accepted"],
    "o-picked": ["accept", "food_ready", "courier_accepted", "picked_up"],
    "o-cancelled": ["reject"],  # finished (its refund in flight): not migrated
}


def live_orders(client: Client, calls: Calls) -> None:
    client.register(ORDER_V1, effects=calls.bind("charge", "refund"))
    for iid in ORDERS:
        client.start("order", iid)
    client.worker.run_until_idle(), calls.keys.clear()  # every order paid...
    client.start("order", "o-placed")  # ...but this one, whose charge is in flight
    for iid, events in ORDERS.items():
        for event in events:
            client.send(iid, event)
    client.register(ORDER_V2, effects=calls.bind("charge", "refund"))
    client.register(ORDER_V3, effects=calls.bind("charge", "refund"))


def test_orders_in_every_state_migrate_v1_to_v3_through_v2(client: Client,
                                                           clock: VirtualClock) -> None:
    calls = Calls()
    live_orders(client, calls)
    report = client.register_migration(ORDER_V1_TO_V2)
    assert {c.state: c.instances for c in report.changes
            if c.kind == "state removed or renamed"}["OfferedToRestaurant"] == 1
    client.register_migration(ORDER_V2_TO_V3)
    clock.advance(100.0)
    dry = client.migrate("order", 3)
    assert sorted(m.instance for m in dry.instances) == sorted(
        ["o-placed", "o-offered", "o-cooking", "o-ready-assigned", "o-picked"])
    assert {m.status for m in dry.instances} == {"would migrate"} and dry.failed == []
    assert [client.get(i).version for i in ORDERS] == ["1"] * len(ORDERS)  # nothing written
    assert all(len(client.history(i)) == len(ORDERS[i]) + 2 for i in ORDERS)
    run = client.migrate("order", 3, dry_run=False, actor="ops", batch=4)
    assert run.transactions == 2 and len(run.migrated) == 5 and run.failed == []
    targets = {i: client.get(i).configuration for i in [*ORDERS, "o-placed"]}
    assert targets["o-placed"] == ("Placed",)
    assert targets["o-offered"] == ("Dispatching", "Restaurant", "AwaitingRestaurant", "Courier",
                                    "FindingCourier")
    assert targets["o-cooking"] == ("Dispatching", "Restaurant", "Cooking", "Courier",
                                    "FindingCourier")
    assert targets["o-ready-assigned"][2:] == ("ReadyForPickup", "Courier", "CourierAssigned")
    assert targets["o-picked"][-1] == "OutForDelivery"
    assert client.get("o-cancelled").version == "1"  # finished: left as it was
    last = client.history("o-picked")[-1]
    assert (last.event, last.outcome, last.actor, last.chart_version) == (
        "statekeeper.migrate", "migrated", "ops", "3")
    assert last.data == {"from_version": "1", "to_version": "3", "path": ["1", "2", "3"]}
    assert last.source == ("Preparing", "Kitchen", "ReadyForPickup", "Courier", "PickedUp")
    # the restaurant's deadline kept its due time (offered at 1_000_000, due 300 s later);
    # the courier search, new to this order, was armed at the migration
    due = {t.timer_id: t.due for t in client.store.timers("o-offered")}
    assert due == {"statekeeper.after.AwaitingRestaurant.0": 1_000_300.0,
                   "statekeeper.after.FindingCourier.0": 1_000_160.0}
    # and v3 runs them: the charge in flight answers v3, the deadline cancels on time
    client.worker.run_until_idle()
    assert client.get("o-placed").configuration[0] == "Dispatching"
    assert ("charge", "o-placed") in [(n, k.split(":")[0]) for n, k in calls.keys]
    clock.advance(200.0)
    client.worker.run_until_idle()
    assert client.get("o-offered").state == "Cancelled"
    assert client.send("o-picked", "delivered").state == "Delivered"
    assert client.migrate("order", 3, dry_run=False).instances == []  # nothing left
    assert client.store.integrity_check() == []


def test_the_onboarding_drip_moves_to_v2_with_its_welcome_in_flight(
        client: Client, clock: VirtualClock) -> None:
    calls = Calls()
    client.register(ONBOARDING_V1, effects=calls.bind("send_welcome", "send_drip"))
    for iid in ("u-welcome", "u-waiting", "u-drip"):
        client.start("onboarding", iid)
    client.worker.run_until_idle()  # all three past the welcome, waiting a day
    clock.advance(86_400.0)
    client.worker.run_until_idle()  # u-welcome, u-waiting, u-drip: drip sent, done
    assert client.get("u-drip").status == "done"
    client.start("onboarding", "u-waiting-2")
    client.worker.run_until_idle()  # waiting a day
    client.start("onboarding", "u-sending")  # welcome in flight
    # v2 sends the welcome under another effect name: v1's rows in flight still need theirs
    client.register(ONBOARDING_V2, functions=ONBOARDING_FUNCTIONS,
                    effects=calls.bind("lookup_channel", "send_welcome_email", "send_drip",
                                       "send_welcome"))
    client.register_migration(ONBOARDING_V1_TO_V2)
    dry = client.migrate("onboarding", 2)
    assert {m.instance: m.data_diff["added"] for m in dry.instances} == {
        "u-sending": {"channel": "unknown"}, "u-waiting-2": {"channel": "unknown"}}
    run = client.migrate("onboarding", 2, dry_run=False)
    assert len(run.migrated) == 2 and client.get("u-drip").version == "1"
    assert client.get("u-waiting-2").data == {"channel": "unknown"}
    # its day-long wait kept its due time, under v2's timer of the same state
    assert [(t.timer_id, t.due) for t in client.store.timers("u-waiting-2")] == [
        ("statekeeper.after.Waiting.0", 1_172_800.0)]  # started a day after the clock began
    client.worker.run_until_idle()  # the welcome in flight answers as v2's own effect
    assert client.get("u-sending").state == "Waiting"
    assert [r.event for r in client.history("u-sending")][-2:] == [
        "statekeeper.migrate", "done.effect.send_welcome_email"]
    clock.advance(86_400.0)
    client.worker.run_until_idle()
    assert client.get("u-waiting-2").status == "done"
    assert client.start("onboarding", "u-v2").state == "LookingUpChannel"


def test_an_instance_whose_data_map_fails_stays_and_the_batch_goes_on(
        client: Client) -> None:
    calls = Calls()
    client.register(ONBOARDING_V1, effects=calls.bind("send_welcome", "send_drip"))
    for iid in ("a", "b", "c"):
        client.start("onboarding", iid, data={"fail": iid == "b"})
    client.register(ONBOARDING_V2, functions=ONBOARDING_FUNCTIONS,
                    effects=calls.bind("lookup_channel", "send_welcome_email", "send_drip",
                                       "send_welcome"))

    def picky(data: dict[str, Any]) -> dict[str, Any]:
        if data["fail"]:
            raise KeyError("no channel")
        return {**data, "channel": "web"}

    client.register_migration(Migration("onboarding", 1, 2, data=picky, outcomes=dict(
        ONBOARDING_V1_TO_V2.outcomes)))
    run = client.migrate("onboarding", 2, dry_run=False, batch=1)
    assert [m.instance for m in run.migrated] == ["a", "c"]
    assert [(m.instance, m.status) for m in run.failed] == [("b", "failed")]
    assert "KeyError" in (run.failed[0].error or "")
    assert [client.get(i).version for i in ("a", "b", "c")] == ["2", "1", "2"]
    assert [r.event for r in client.history("b")] == ["statekeeper.start"]


def test_bad_migrations_are_refused_by_name_before_anything_is_written(
        client: Client) -> None:
    calls = Calls()
    client.register(ORDER_V1, effects=calls.bind("charge", "refund"))
    client.start("order", "o-1")
    with pytest.raises(UnknownChart):  # v2 is not registered
        client.register_migration(ORDER_V1_TO_V2)
    client.register(ORDER_V2, effects=calls.bind("charge", "refund"))
    with pytest.raises(UnmappedState, match="'OfferedToRestaurant'"):
        client.register_migration(Migration("order", 1, 2))
    with pytest.raises(UnknownMappedState, match="'Nowhere'"):
        client.register_migration(Migration("order", 1, 2, states={
            **ORDER_V1_TO_V2.states, "Cooking": "Nowhere"}))
    client.register(ONBOARDING_V1, effects=calls.bind("send_welcome", "send_drip"))
    client.register(ONBOARDING_V2, functions=ONBOARDING_FUNCTIONS,
                    effects=calls.bind("lookup_channel", "send_welcome_email", "send_drip"))
    with pytest.raises(MigrationError, match=r"effects \['send_welcome'\].*no function"):
        client.register_migration(ONBOARDING_V1_TO_V2)  # its rows in flight could not run
    with pytest.raises(UnknownChart):
        client.migrate("order", 9)
    with pytest.raises(NoMigrationPath, match="from v1 to v2"):
        client.migrate("order", 2)  # nothing registered leads there yet
    client.register_migration(ORDER_V1_TO_V2)
    with pytest.raises(VersionCycle, match="cycle"):
        client.register_migration(Migration("order", 2, 1, states={
            "Dispatching": "Preparing", "Restaurant": "Kitchen",
            "AwaitingRestaurant": "OfferedToRestaurant"}))
    assert client.get("o-1").version == "1" and len(client.history("o-1")) == 1


def test_the_async_client_migrates(store_url: str, clock: VirtualClock) -> None:
    async def main() -> tuple[list[str], list[str]]:
        async with AsyncClient(store_url, clock=clock, worker=False) as client:
            effects = Calls().bind("charge", "refund")
            client.register(ORDER_V1, effects=effects)
            await client.start("order", "o-1")
            client.register(ORDER_V2, effects=effects)
            client.register_migration(ORDER_V1_TO_V2)
            dry = await client.migrate("order", 2)
            done = await client.migrate("order", 2, dry_run=False)
            return [m.status for m in dry.instances], [m.status for m in done.instances]

    assert asyncio.run(main()) == (["would migrate"], ["migrated"])


def test_migrate_refuses_bad_arguments_by_name(client: Client) -> None:
    from statekeeper.client.errors import ArgumentTypeError, InvalidArgument

    client.register(ORDER_V1, effects=Calls().bind("charge", "refund"))
    with pytest.raises(ArgumentTypeError, match="to_version="):
        client.migrate("order", 2.0)  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError, match="dry_run="):
        client.migrate("order", 1, dry_run="no")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="batch="):
        client.migrate("order", 1, batch=0)
    with pytest.raises(TypeError, match="takes a Migration"):
        client.register_migration({"chart": "order"})  # type: ignore[arg-type]
