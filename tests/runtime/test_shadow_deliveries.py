"""Shadows of timer and effect-outcome deliveries, carried over as the migrations carry them.

A timer the migration keeps fires in the shadow under its new id; an effect's outcome is
delivered under the name the migration's ``outcomes`` give it; a timer the migration re-arms
has no counterpart and is not compared.  Nothing of the shadow step is committed or run.
"""

from __future__ import annotations

from typing import Any

from statekeeper import Assign, Chart, Effect, Migration, State, Transition, VirtualClock
from statekeeper.client import Client


def timed(version: int, *, planted: bool = False) -> Chart:
    """``off`` rings, then ``on``; 10 s later ``idle`` (v2 planted: ``off`` again, counting).

    v2 names its effect ``chime``: the migration delivers ring's outcome as chime's.
    """
    effect = "ring" if version == 1 else "chime"
    done: object = "on"
    if planted:
        done = Transition("on", actions=[Assign("rings", value=1)])
    return Chart("lamp", version=version, initial="off", data={"rings": 0}, states={
        "off": State(entry=[Effect(effect)], on={f"done.effect.{effect}": done}),
        "on": State(on={"flip": "off", "rest": "idle"},
                    after={"10s": "off" if planted else "idle"}),
        "idle": State(on={"flip": "off"}),
    })


def effects(calls: list[str]) -> dict[str, Any]:
    def run(args: Any, key: str) -> dict[str, Any]:
        calls.append(key)
        return {}
    return {"ring": run, "chime": run}


def shadowed(client: Client, calls: list[str], *, planted: bool,
             timers: str = "keep") -> Any:
    client.register(timed(1), effects=effects(calls))
    client.register(timed(2, planted=planted), effects=effects(calls))
    client.register_migration(Migration(
        "lamp", 1, 2, timers=timers,  # type: ignore[arg-type]
        outcomes={"done.effect.ring": "done.effect.chime"}))
    return client.shadow("lamp", 1, 2)


def test_outcomes_and_timers_are_compared_on_the_new_version(client: Client,
                                                             clock: VirtualClock) -> None:
    calls: list[str] = []
    shadow = shadowed(client, calls, planted=False)
    client.start("lamp", "a", version=1)
    client.worker.run_until_idle()  # ring's outcome: v2 takes it as done.effect.chime
    clock.advance(10.0)
    client.worker.run_until_idle()  # on's timer: v2 fires its own, renamed the same
    assert client.get("a").state == "idle" and client.get("a").version == "1"
    assert shadow.compared == {("off", "done.effect.ring"): 1,
                               ("on", "statekeeper.after.on.0"): 1}
    assert shadow.diverged_events == {}  # the same behaviour under the new names
    assert len(calls) == 1  # v1's ring; no chime ran
    table = client.shadow_report("lamp").splitlines()
    assert [line.split()[:4] for line in table[2:]] == [
        ["off", "done.effect.ring", "1", "0"], ["on", "statekeeper.after.on.0", "1", "0"]]


def test_planted_divergences_in_deliveries_are_found(client: Client,
                                                     clock: VirtualClock) -> None:
    calls: list[str] = []
    shadow = shadowed(client, calls, planted=True)
    client.start("lamp", "a", version=1)
    client.worker.run_until_idle()
    clock.advance(10.0)
    client.worker.run_until_idle()
    assert shadow.diverged == {("off", "done.effect.ring"): {"data": 1},
                               ("on", "statekeeper.after.on.0"): {"configuration": 1,
                                                                  "commands": 1}}
    assert client.get("a").state == "idle" and client.get("a").data == {"rings": 0}


def test_a_timer_the_migration_rearms_is_not_compared(client: Client,
                                                      clock: VirtualClock) -> None:
    calls: list[str] = []
    shadow = shadowed(client, calls, planted=True, timers="rearm")
    client.start("lamp", "a", version=1)
    client.worker.run_until_idle()
    clock.advance(10.0)
    client.worker.run_until_idle()
    assert ("on", "statekeeper.after.on.0") not in shadow.compared
    assert shadow.compared[("off", "done.effect.ring")] == 1


def test_a_renamed_timer_fires_in_the_shadow_under_its_new_name(client: Client,
                                                                clock: VirtualClock) -> None:
    """The restaurant's deadline: OfferedToRestaurant's timer is AwaitingRestaurant's in v2."""
    from statekeeper.examples.versions import ORDER_V1, ORDER_V1_TO_V2, ORDER_V2

    calls: list[str] = []
    bound = {"charge": effects(calls)["ring"], "refund": effects(calls)["ring"]}
    client.register(ORDER_V1, effects=bound)
    client.register(ORDER_V2, effects=bound)
    client.register_migration(ORDER_V1_TO_V2)
    shadow = client.shadow("order", 1, 2)
    client.start("order", "o-1", version=1)
    client.worker.run_until_idle()  # paid: offered to the restaurant for 5 minutes
    clock.advance(300.0)
    client.worker.run_until_idle()  # nobody answered: cancelled (and refunded) in both
    assert client.get("o-1").state == "Cancelled"
    assert shadow.compared[("OfferedToRestaurant", "statekeeper.after.OfferedToRestaurant.0")] \
        == 1
    assert shadow.diverged_events == {}
