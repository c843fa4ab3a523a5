"""Migrations as data: the checks at registration and the pure mapping of one snapshot."""

from __future__ import annotations

from typing import Any

import pytest

from statekeeper import (
    Chart,
    DataMapFailed,
    Effect,
    Final,
    History,
    Migration,
    MigrationError,
    Parallel,
    State,
    UnknownMappedState,
    UnmappedState,
    compile_chart,
    initial_step,
    step,
)
from statekeeper.core import Event
from statekeeper.core._migrate_map import migrate_snapshot
from statekeeper.core.compatibility import compare_charts
from statekeeper.core.migration import VersionCycle, check_migration
from statekeeper.examples.versions import (
    ORDER_V1,
    ORDER_V1_TO_V2,
    ORDER_V2,
    ORDER_V2_TO_V3,
    ORDER_V3,
)

V1 = compile_chart(ORDER_V1)
V2 = compile_chart(ORDER_V2)
V3 = compile_chart(ORDER_V3)


def run(chart: Any, *events: str, now: float = 100.0) -> Any:
    snapshot = initial_step(chart, now=now, session="o-1").snapshot
    for name in events:
        snapshot = step(chart, snapshot, Event(name), now=now).snapshot
    return snapshot


# ----------------------------------------------------------------------- checks at registration

def test_a_complete_migration_is_accepted() -> None:
    check_migration(ORDER_V1_TO_V2, V1, V2)
    check_migration(ORDER_V2_TO_V3, V2, V3)


def test_an_unmapped_reachable_state_is_refused_naming_it() -> None:
    incomplete = Migration("order", 1, 2, states={"OfferedToRestaurant": "AwaitingRestaurant",
                                                  "Preparing": "Dispatching"})
    with pytest.raises(UnmappedState, match="'Kitchen'") as caught:
        check_migration(incomplete, V1, V2)
    assert caught.value.state == "Kitchen"


def test_a_state_whose_id_exists_unchanged_needs_no_entry() -> None:
    # every v2 state but PickedUp exists in v3 by the same id: only that one is mapped
    check_migration(Migration("order", 2, 3, states={"PickedUp": "OutForDelivery"}), V2, V3)
    with pytest.raises(UnmappedState, match="'PickedUp'"):
        check_migration(Migration("order", 2, 3), V2, V3)


@pytest.mark.parametrize(("states", "side", "named"), [
    ({"OfferedToRestaurnt": "AwaitingRestaurant"}, "old", "OfferedToRestaurnt"),
    ({"OfferedToRestaurant": "AwaitingRestaurnt"}, "new", "AwaitingRestaurnt"),
])
def test_a_state_map_naming_a_state_that_does_not_exist_is_refused(
        states: dict[str, str], side: str, named: str) -> None:
    with pytest.raises(UnknownMappedState, match=f"{named!r}.*did you mean") as caught:
        check_migration(Migration("order", 1, 2, states=states), V1, V2)
    assert (caught.value.state, caught.value.side) == (named, side)


@pytest.mark.parametrize("bad", [
    {"timers": "snooze"}, {"history": "forget"}, {"data": "not a function"},
    {"outcomes": {"charge": "paid"}},
    {"outcomes": {"done.effect.charge": "paid"}},  # v2 declares charge itself
])
def test_bad_settings_are_refused_by_name(bad: dict[str, Any]) -> None:
    migration = Migration("order", 1, 2, states=dict(ORDER_V1_TO_V2.states), **bad)
    with pytest.raises(MigrationError):
        check_migration(migration, V1, V2)


def test_a_state_mapped_to_a_history_state_is_refused() -> None:
    def chart(version: int) -> Any:
        return compile_chart(Chart("h", version=version, initial="work", states={
            "work": State(initial="a", states={"a": State(on={"x": "b"}),
                                               "b": State(on={"x": "a"}), "h": History()}),
        }))
    with pytest.raises(MigrationError, match="history state maps to a history state"):
        check_migration(Migration("h", 1, 2, states={"a": "h"}), chart(1), chart(2))


def test_a_migration_between_other_charts_or_to_itself_is_refused() -> None:
    with pytest.raises(MigrationError, match="given charts"):
        check_migration(ORDER_V1_TO_V2, V2, V3)
    with pytest.raises(VersionCycle):
        check_migration(Migration("order", 1, 1), V1, V1)


# ----------------------------------------------------------------------- mapping one snapshot

def test_an_offered_order_goes_courier_first_and_keeps_its_restaurant_deadline() -> None:
    before = run(V1, "done.effect.charge")  # offered at 100: cancelled at 400 unless answered
    assert before.configuration == ("OfferedToRestaurant",)
    moved = migrate_snapshot(ORDER_V1_TO_V2, V1, V2, before, now=250.0)
    after = moved.snapshot
    after.validate(V2)
    assert after.configuration == ("Dispatching", "Restaurant", "AwaitingRestaurant", "Courier",
                                   "FindingCourier")
    assert after.timers["statekeeper.after.AwaitingRestaurant.0"]["due"] == 400.0
    assert after.timers["statekeeper.after.FindingCourier.0"]["due"] == 310.0  # armed now
    assert moved.timers_cancelled == ("statekeeper.after.OfferedToRestaurant.0",)
    assert set(moved.timers_set) == {"statekeeper.after.AwaitingRestaurant.0",
                                     "statekeeper.after.FindingCourier.0"}
    # and the new version runs it: the deadline fires the renamed timer's transition
    timer = after.timers["statekeeper.after.AwaitingRestaurant.0"]
    fired = step(V2, after, Event.from_dict(timer["event"]), now=400.0,
                 timer="statekeeper.after.AwaitingRestaurant.0")
    assert fired.snapshot.configuration == ("Cancelled",)


def test_rearm_restarts_and_cancel_drops_the_timers() -> None:
    before = run(V1, "done.effect.charge")
    rearm = Migration("order", 1, 2, states=dict(ORDER_V1_TO_V2.states), timers="rearm")
    after = migrate_snapshot(rearm, V1, V2, before, now=250.0).snapshot
    assert after.timers["statekeeper.after.AwaitingRestaurant.0"]["due"] == 550.0
    cancel = Migration("order", 1, 2, states=dict(ORDER_V1_TO_V2.states), timers="cancel")
    moved = migrate_snapshot(cancel, V1, V2, before, now=250.0)
    assert moved.snapshot.timers == {}
    assert moved.timers_cancelled == ("statekeeper.after.OfferedToRestaurant.0",)


def test_an_order_being_prepared_keeps_both_regions_and_the_courier_offer() -> None:
    before = run(V1, "done.effect.charge", "accept", "food_ready", "courier_accepted")
    after = migrate_snapshot(ORDER_V1_TO_V2, V1, V2, before, now=500.0).snapshot
    assert after.configuration == ("Dispatching", "Restaurant", "ReadyForPickup", "Courier",
                                   "CourierAssigned")
    assert after.timers == {}
    chained = migrate_snapshot(ORDER_V2_TO_V3, V2, V3, step(
        V2, after, Event("picked_up"), now=501.0).snapshot, now=502.0).snapshot
    assert "OutForDelivery" in chained.configuration and chained.version == 3


def test_mapping_two_states_into_siblings_is_refused_naming_both() -> None:
    old = compile_chart(Chart("c", version=1, initial="p", states={
        "p": Parallel(states={"a": State(initial="a1", states={"a1": State(on={"x": "a1"})}),
                              "b": State(initial="b1", states={"b1": State(on={"x": "b1"})})}),
    }))
    new = compile_chart(Chart("c", version=2, initial="s", states={
        "s": State(initial="one", states={"one": State(on={"x": "two"}),
                                          "two": State(on={"x": "one"})}),
    }))
    squash = Migration("c", 1, 2, states={"p": "s", "a": "s", "b": "s", "a1": "one",
                                          "b1": "two"})
    check_migration(squash, old, new)
    with pytest.raises(MigrationError, match=r"'one'.*'two'|'two'.*'one'"):
        migrate_snapshot(squash, old, new, run(old), now=0.0)


def test_history_follows_the_state_map_or_is_dropped() -> None:
    def chart(version: int, inner: str) -> Any:
        return compile_chart(Chart("h", version=version, initial="work", states={
            "work": State(initial=inner, states={
                inner: State(on={"next": "other"}), "other": State(on={"pause": "paused"}),
                "h": History("shallow"),
            }),
            "paused": State(on={"resume": "h"}),
        }))
    old, new = chart(1, "first"), chart(2, "start")
    before = run(old, "next", "pause")
    assert before.history == {"h": ("other",)}
    mapped = Migration("h", 1, 2, states={"first": "start"})
    assert migrate_snapshot(mapped, old, new, before, now=0.0).snapshot.history == {
        "h": ("other",)}
    dropped = Migration("h", 1, 2, states={"first": "start"}, history="drop")
    after = migrate_snapshot(dropped, old, new, before, now=0.0).snapshot
    assert after.history == {}
    assert step(new, after, Event("resume"), now=1.0).snapshot.configuration == (
        "work", "start")  # no record: the default


@pytest.mark.parametrize(("fn", "why"), [
    (lambda d: 1 / 0, "ZeroDivisionError"),
    (lambda d: [d], "not a dict"),
    (lambda d: {**d, "when": {1, 2}}, "cannot hold"),
])
def test_a_data_map_that_raises_or_returns_bad_data_is_named(fn: Any, why: str) -> None:
    migration = Migration("order", 1, 2, states=dict(ORDER_V1_TO_V2.states), data=fn)
    with pytest.raises(DataMapFailed, match=why) as caught:
        migrate_snapshot(migration, V1, V2, run(V1), now=0.0)
    assert caught.value.instance == "o-1"


def test_the_data_map_gets_a_copy() -> None:
    old = compile_chart(Chart("d", version=1, initial="a", data={"items": [1]},
                              states={"a": State(on={"x": "a"})}))
    new = compile_chart(Chart("d", version=2, initial="a", states={"a": State(on={"y": "a"})}))

    def grab(data: dict[str, Any]) -> dict[str, Any]:
        data["items"].append(2)
        return {"count": len(data["items"])}

    before = run(old)
    after = migrate_snapshot(Migration("d", 1, 2, data=grab), old, new, before, now=0.0)
    assert after.snapshot.data == {"count": 2} and before.data == {"items": [1]}


# ----------------------------------------------------------------------- compatibility

def test_the_report_gives_each_change_its_verdict() -> None:
    report = compare_charts(V2, V3, ORDER_V2_TO_V3, {"CourierAssigned": 7, "PickedUp": 2})
    verdicts = {(c.kind, c.state, c.event): (c.verdict, c.instances) for c in report.changes}
    assert verdicts[("state added", "SelfDelivering", None)] == ("safe", 0)
    assert verdicts[("event added", "*", "self_delivery")] == ("safe", 0)
    assert verdicts[("state removed or renamed", "PickedUp", None)] == ("needs migration", 2)
    assert verdicts[("transition target changed", "CourierAssigned", "picked_up")] == (
        "risky", 7)
    assert report.refused == ()
    assert "risky" in str(report)


def test_a_removed_state_with_live_instances_and_no_map_is_refused_in_the_report() -> None:
    small = compile_chart(Chart("order", version=9, initial="Placed", states={
        "Placed": State(entry=[Effect("charge")], on={"done.effect.charge": "Delivered",
                                                      "cancel": "Cancelled"}),
        "Delivered": Final(), "Cancelled": Final(),
    }))
    report = compare_charts(V1, small, None, {"OfferedToRestaurant": 3})
    refused = {c.state: c.instances for c in report.refused}
    assert refused == {"OfferedToRestaurant": 3}
    assert ("transition target changed", "Placed") in {(c.kind, c.state) for c in report.changes}
