"""Lazy migration through the clients, on every store (docs/versioning.md, runtime/lazy.py).

Orders in every state, with timers pending and effects in flight, migrate from v1 to v3 on
their next event (a caller's send, a timer, an effect's outcome), each with one logged
migration row right before the event's row, written in the same transaction; the ones that
get no event stay where they are.  A data map that raises refuses a caller's event and
keeps a timer's as a dead letter, the instance staying on its version.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statekeeper import (
    DataMapFailed,
    EventNotAccepted,
    Migration,
    NoMigrationPath,
    StatekeeperError,
    VirtualClock,
)
from statekeeper.client import AsyncClient, Client
from statekeeper.client.errors import ArgumentTypeError, InvalidArgument
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
from statekeeper.storage.records import TransitionRecord
from statekeeper.testing.strategies import suite_settings

MIGRATE = "statekeeper.migrate"


def _ok(args: Any, key: str) -> dict[str, Any]:
    return {"ok": True}


EFFECTS = {"charge": _ok, "refund": _ok}

#: what each order is sent on v1, from a paid order offered to the restaurant
ORDERS: dict[str, list[str]] = {
    "o-offered": [],  # the restaurant's 5-minute deadline is pending
    "o-cooking": ["accept"],  # a courier offer's 60 s timer is pending
    "o-assigned": ["accept", "food_ready", "courier_accepted"],
    "o-picked": ["accept", "food_ready", "courier_accepted", "picked_up"],
    "o-cancelled": ["reject"],  # finished: never migrated
}


def live_orders(client: Client) -> None:
    """Orders on v1 in every state, one ("o-placed") with its charge in flight; v1..v3 known."""
    client.register(ORDER_V1, effects=EFFECTS)
    for iid in ORDERS:
        client.start("order", iid)
    client.worker.run_until_idle()  # every order paid...
    client.start("order", "o-placed")  # ...but this one, whose charge is in flight
    for iid, events in ORDERS.items():
        for event in events:
            client.send(iid, event)
    client.register(ORDER_V2, effects=EFFECTS)
    client.register(ORDER_V3, effects=EFFECTS)
    client.register_migration(ORDER_V1_TO_V2)
    client.register_migration(ORDER_V2_TO_V3)


def check_log(rows: list[TransitionRecord]) -> None:
    """Every instance's log is numbered from 1 with no gap, and migrates at most once."""
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert sum(r.event == MIGRATE for r in rows) <= 1


def test_orders_migrate_lazily_on_their_next_event(client: Client, clock: VirtualClock) -> None:
    live_orders(client)
    before = {iid: len(client.history(iid)) for iid in [*ORDERS, "o-placed"]}
    run = client.migrate("order", 3, dry_run=False, lazy=True)
    assert run.lazy and run.instances == [] and run.to_version == "3"
    assert {client.get(i).version for i in before} == {"1"}  # nothing written yet
    assert {i: len(client.history(i)) for i in before} == before

    # a caller's event: migrated v1 -> v3 through v2 first, then stepped on v3
    state = client.send("o-cooking", "food_ready", actor="kitchen")
    assert state.version == "3"
    assert state.configuration == ("Dispatching", "Restaurant", "ReadyForPickup", "Courier",
                                   "FindingCourier")
    moved, event = client.history("o-cooking")[-2:]
    assert (moved.event, moved.outcome, moved.chart_version, moved.actor) == (
        MIGRATE, "migrated", "3", "kitchen")
    assert moved.data == {"from_version": "1", "to_version": "3", "path": ["1", "2", "3"]}
    assert moved.source == ("Preparing", "Kitchen", "Cooking", "Courier", "FindingCourier")
    assert (event.event, event.outcome, event.chart_version, event.source) == (
        "food_ready", "applied", "3", moved.target)
    assert event.seq == moved.seq + 1
    # its courier offer kept its due time under v3's id, and fires there
    assert [(t.timer_id, t.due) for t in client.store.timers("o-cooking")] == [
        ("statekeeper.after.FindingCourier.0", 1_000_060.0)]

    # an effect in flight: its outcome is the next event, delivered to v3
    client.worker.run_until_idle()
    placed = client.history("o-placed")
    assert [(r.event, r.chart_version) for r in placed[-2:]] == [
        (MIGRATE, "3"), ("done.effect.charge", "3")]
    assert client.get("o-placed").configuration[:3] == ("Dispatching", "Restaurant",
                                                        "AwaitingRestaurant")

    # a timer: the restaurant's 5-minute deadline, renamed by the migration, fires on v3
    clock.advance(300.0)
    client.worker.run_until_idle()
    offered = client.history("o-offered")
    assert [(r.event, r.outcome, r.chart_version) for r in offered[before["o-offered"]:]] == [
        (MIGRATE, "migrated", "3"),
        ("statekeeper.after.AwaitingRestaurant.0", "applied", "3"),
        ("done.effect.refund", "ignored", "3")]  # v3's Cancelled refunds; it is finished
    assert client.get("o-offered").configuration == ("Cancelled",)
    assert client.store.timers("o-offered") == []  # the old timer row went with the step

    # the ones that got no event are where they were; the finished one is never migrated
    assert client.get("o-assigned").version == "1"
    assert client.send("o-cancelled", "reject", wait=False).exception() is not None
    assert client.get("o-cancelled").version == "1"
    picked = client.send("o-picked", "delivered")
    assert (picked.version, picked.configuration) == ("3", ("Delivered",))
    for iid in [*ORDERS, "o-placed"]:
        check_log(client.history(iid))
        assert client.store.load(iid).rev == len(client.history(iid))


def test_the_onboarding_welcome_in_flight_answers_v2_under_its_new_name(
        client: Client) -> None:
    def effect(args: Any, key: str) -> dict[str, Any]:
        return {"channel": "ads"}

    client.register(ONBOARDING_V1, effects={"send_welcome": effect, "send_drip": effect})
    client.start("onboarding", "bob")  # its welcome is in flight
    client.register(ONBOARDING_V2, functions=ONBOARDING_FUNCTIONS, effects={
        "lookup_channel": effect, "send_welcome_email": effect, "send_drip": effect,
        "send_welcome": effect})
    client.register_migration(ONBOARDING_V1_TO_V2)
    client.migrate("onboarding", 2, dry_run=False, lazy=True)
    client.worker.run_until_idle()
    bob = client.get("bob")
    assert (bob.state, bob.version, bob.data) == ("Waiting", "2", {"channel": "unknown"})
    rows = client.history("bob")
    assert [(r.event, r.chart_version) for r in rows[1:]] == [
        (MIGRATE, "2"), ("done.effect.send_welcome_email", "2")]


def test_an_event_the_new_version_rejects_still_migrates_the_instance(client: Client) -> None:
    live_orders(client)
    client.migrate("order", 3, dry_run=False, lazy=True)
    with pytest.raises(EventNotAccepted):
        client.send("o-assigned", "accept")  # v3's CourierAssigned takes no "accept"
    rows = client.history("o-assigned")
    assert [(r.event, r.outcome, r.chart_version) for r in rows[-2:]] == [
        (MIGRATE, "migrated", "3"), ("accept", "rejected", "3")]
    assert client.get("o-assigned").version == "3"
    check_log(rows)


def test_a_keyed_event_sent_twice_migrates_once(client: Client) -> None:
    live_orders(client)
    client.migrate("order", 2, dry_run=False, lazy=True)
    first = client.send("o-cooking", "food_ready", idempotency_key="k1")
    again = client.send("o-cooking", "food_ready", idempotency_key="k1")
    assert (first.version, again.version, again.outcome) == ("2", "2", "duplicate")
    check_log(client.history("o-cooking"))


def lamp(version: int, *, delay: str | None = None) -> Any:
    from statekeeper import Chart, State

    return Chart("lamp", version=version, initial="off", data={"n": 0}, states={
        "off": State(on={"flip": "on"}),
        "on": State(on={"flip": "off"}, after={delay: "off"} if delay else {}),
    })


def _fragile(data: dict[str, Any]) -> dict[str, Any]:
    if data.get("n") == 13:
        raise ValueError("unlucky")
    return {**data, "moved": True}


def test_a_data_map_that_raises_leaves_the_instance_and_loses_no_event(
        client: Client, clock: VirtualClock) -> None:
    client.register(lamp(1, delay="10s"))
    for iid, n in (("good", 1), ("bad", 13), ("timed", 13)):
        client.start("lamp", iid, data={"n": n})
    client.send("timed", "flip")  # its 10 s timer is pending
    client.register(lamp(2, delay="10s"))
    client.register_migration(Migration("lamp", 1, 2, data=_fragile))
    client.migrate("lamp", 2, dry_run=False, lazy=True)

    assert client.send("good", "flip").version == "2"
    rows = len(client.history("bad"))
    with pytest.raises(DataMapFailed, match="unlucky"):  # a caller's event: refused
        client.send("bad", "flip")
    bad = client.get("bad")
    assert (bad.version, bad.state, len(client.history("bad"))) == ("1", "off", rows)

    clock.advance(10.0)  # a timer's event: kept as a dead letter, not applied on v1
    client.worker.run_until_idle()
    timed = client.get("timed")
    assert (timed.version, timed.state) == ("1", "on")
    last = client.history("timed")[-1]
    assert last.outcome == "rejected" and "lazy migration" in (last.reason or "")
    (letter,) = client.dead_letters("timed")
    assert letter.payload["event"]["name"] == "statekeeper.after.on.0"
    assert client.store.timers("timed") == []

    # fixed, the migration takes them: the dead letter replayed is delivered on v2
    client.register_migration(Migration("lamp", 1, 2, data=lambda d: {**d, "moved": True}))
    assert client.send("bad", "flip").version == "2"
    assert letter.id is not None
    client.replay_dead_letter(letter.id)
    timed = client.get("timed")
    assert (timed.version, timed.data) == ("2", {"n": 13, "moved": True})
    assert client.dead_letters("timed") == []
    for iid in ("good", "bad", "timed"):
        check_log(client.history(iid))


def test_bad_arguments_are_refused_by_name_and_write_nothing(client: Client) -> None:
    client.register(lamp(1))
    client.start("lamp", "a")
    client.register(lamp(2))
    with pytest.raises(NoMigrationPath):  # no migration registered to v2
        client.migrate("lamp", 2, dry_run=False, lazy=True)
    client.register_migration(Migration("lamp", 1, 2))
    with pytest.raises(InvalidArgument, match="dry_run=False"):
        client.migrate("lamp", 2, lazy=True)
    with pytest.raises(ArgumentTypeError, match="lazy="):
        client.migrate("lamp", 2, dry_run=False, lazy="yes")  # type: ignore[arg-type]
    with pytest.raises(UnknownChart):
        client.migrate("lamp", 7, dry_run=False, lazy=True)
    assert client.send("a", "flip").version == "1"  # none of them turned it on
    assert client.registry.lazy == {}


def test_instances_already_migrated_elsewhere_are_not_migrated_twice(
        store_url: str, clock: VirtualClock) -> None:
    """Another process's batch moves an instance this one has cached: the rev check tells."""
    if store_url == "memory://":
        pytest.skip("two clients share a store only through a file or a server")
    with Client(store_url, clock=clock, worker=False) as lazy, \
            Client(store_url, clock=clock, worker=False) as batch:
        live_orders(lazy)
        for made in (batch,):
            for chart in (ORDER_V1, ORDER_V2, ORDER_V3):
                made.register(chart, effects=EFFECTS)
            made.register_migration(ORDER_V1_TO_V2)
            made.register_migration(ORDER_V2_TO_V3)
        lazy.migrate("order", 3, dry_run=False, lazy=True)
        assert lazy.get("o-cooking").version == "1"  # cached by this engine at v1
        batch.migrate("order", 3, dry_run=False, actor="ops")
        state = lazy.send("o-cooking", "food_ready", actor="kitchen")
        assert state.version == "3"
        check_log(lazy.history("o-cooking"))
        assert [r.actor for r in lazy.history("o-cooking") if r.event == MIGRATE] == ["ops"]


def test_async_client_migrates_lazily(store_url: str) -> None:
    async def main() -> None:
        clock = VirtualClock(1_000_000.0)
        async with AsyncClient(store_url, clock=clock, worker=False) as client:
            client.register(lamp(1))
            await client.start("lamp", "a")
            client.register(lamp(2))
            client.register_migration(Migration("lamp", 1, 2))
            run = await client.migrate("lamp", 2, dry_run=False, lazy=True)
            assert run.lazy
            state = await client.send("a", "flip", actor="async")
            assert (state.version, state.state) == ("2", "on")
            rows = await client.history("a")
            assert [(r.event, r.actor) for r in rows] == [
                ("statekeeper.start", None), (MIGRATE, "async"), ("flip", "async")]

    asyncio.run(main())


#: what a generated run does: send an order event to one of four orders, or run the worker
ORDER_EVENTS = ["accept", "reject", "food_ready", "courier_accepted", "picked_up",
                "delivered", "self_delivery"]
Item = tuple[int, str]
items = st.tuples(st.integers(0, 3), st.sampled_from([*ORDER_EVENTS, "worker"]))


def _play(client: Client, run: list[Item]) -> list[str]:
    said = []
    for index, event in run:
        if event == "worker":
            client.worker.run_until_idle()
            said.append("worker")
            continue
        try:
            state = client.send(f"o{index}", event)
        except StatekeeperError as exc:
            said.append(type(exc).__name__)
        else:
            said.append(f"{state.version} {state.configuration}")
    return said


@suite_settings(max_examples=25)
@given(before=st.lists(items, max_size=8), after=st.lists(items, max_size=8),
       paid=st.sets(st.integers(0, 3)))
def test_lazy_migration_is_a_batch_migration_done_late(
        before: list[Item], after: list[Item], paid: set[int]) -> None:
    """An instance's event after a lazy migration ends where the batch would have put it.

    Two stores play the same orders on v1, then one migrates every order to v3 in a batch
    and the other lazily; the same events follow.  Each answer is the same, and every order
    that got an event afterwards is in the same state, data and timers in both.
    """
    clock = VirtualClock(1_000_000.0)
    ends = []
    for lazy in (False, True):
        with Client("memory://", clock=clock, worker=False) as client:
            client.register(ORDER_V1, effects=EFFECTS)
            for index in range(4):
                client.start("order", f"o{index}")
                if index in paid:
                    client.worker.run_until_idle()
            _play(client, before)
            for chart in (ORDER_V2, ORDER_V3):
                client.register(chart, effects=EFFECTS)
            client.register_migration(ORDER_V1_TO_V2)
            client.register_migration(ORDER_V2_TO_V3)
            client.migrate("order", 3, dry_run=False, lazy=lazy)
            said = _play(client, after)
            rows = {}
            for iid in [f"o{i}" for i in range(4)]:
                record = client.store.load(iid)
                check_log(client.history(iid))
                rows[iid] = (record.version, record.configuration, record.snapshot["data"],
                             sorted((t.timer_id, t.due) for t in client.store.timers(iid)))
            ends.append((said, rows))
    batch, lazy_end = ends
    assert lazy_end[0] == batch[0]
    sent = {f"o{i}" for i, event in after if event != "worker"}
    for iid, row in lazy_end[1].items():
        if iid in sent or row[0] == "3":  # the worker may have had nothing for it
            assert row == batch[1][iid], iid


def test_a_stale_timer_firing_is_not_retargeted(client: Client) -> None:
    """A firing of a timer since re-armed (another due time) stays stale after the migration.

    Found in review: the renamed timer was looked up by id alone, so a stale delivery would
    have fired the re-armed timer early under its new id.
    """
    from statekeeper.core.events import Event
    from statekeeper.runtime.lazy import migrate_first
    from statekeeper.runtime.requests import DeliverEvent
    from statekeeper.runtime.rows import snapshot_from_row

    live_orders(client)
    client.migrate("order", 2, dry_run=False, lazy=True)
    record = client.store.load("o-offered")
    snapshot = snapshot_from_row(record)
    timer = "statekeeper.after.OfferedToRestaurant.0"
    due = snapshot.timers[timer]["due"]
    event = Event.from_dict(snapshot.timers[timer]["event"])
    for fired_due, renamed in ((due, "statekeeper.after.AwaitingRestaurant.0"),
                               (due - 60.0, timer)):
        request = DeliverEvent("o-offered", event, strict=False, timer_id=timer,
                               timer_due=fired_due)
        moved = migrate_first(request, record, snapshot, client.registry, 1_000_100.0)
        assert moved is not None and moved.request.timer_id == renamed
        assert moved.record.version == "2" and moved.commit.transitions[0].event == MIGRATE


def test_an_outcome_kept_as_a_dead_letter_is_replayed_under_its_new_name(
        client: Client) -> None:
    """bob's welcome answers while his migration cannot be made; fixed, the letter lands."""
    def effect(args: Any, key: str) -> dict[str, Any]:
        return {"channel": "ads"}

    def broken(data: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("channel service down")

    client.register(ONBOARDING_V1, effects={"send_welcome": effect, "send_drip": effect})
    client.start("onboarding", "bob")  # its welcome is in flight
    client.register(ONBOARDING_V2, functions=ONBOARDING_FUNCTIONS, effects={
        "lookup_channel": effect, "send_welcome_email": effect, "send_drip": effect,
        "send_welcome": effect})
    outcomes = dict(ONBOARDING_V1_TO_V2.outcomes)
    client.register_migration(Migration("onboarding", 1, 2, data=broken, outcomes=outcomes))
    client.migrate("onboarding", 2, dry_run=False, lazy=True)
    client.worker.run_until_idle()
    assert client.get("bob").version == "1"  # stays; its outcome is a dead letter
    (letter,) = client.dead_letters("bob")
    assert letter.payload["event"]["name"] == "done.effect.send_welcome"
    assert letter.id is not None
    client.register_migration(ONBOARDING_V1_TO_V2)  # fixed
    client.replay_dead_letter(letter.id)
    bob = client.get("bob")
    assert (bob.state, bob.version, bob.data) == ("Waiting", "2", {"channel": "unknown"})
    assert [r.event for r in client.history("bob")][-2:] == [
        MIGRATE, "done.effect.send_welcome_email"]
