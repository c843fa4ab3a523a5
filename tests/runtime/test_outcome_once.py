"""An effect's outcome applies once, guarded by its outbox row: the commit that applies it closes it.

An outcome writes no idempotency (mailbox) row, and the group's mailbox read ahead skips it:
the row must be open and leased to the worker that ran the attempt, the outcome's commit
closes it, and a commit that finds it closed (or another worker's) loses and is settled as a
duplicate.  The log row still keeps the outcome's key.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import Future

from statekeeper import Chart, Effect, State, VirtualClock
from statekeeper.client import Client
from statekeeper.core.events import Event
from statekeeper.runtime.effects import outcome_key
from statekeeper.runtime.requests import DeliverEvent
from statekeeper.storage.records import EffectFinish, EffectRecord

WAIT = 5.0

# A second outcome, were it applied, would move "paid" on to "twice" (no final state: a
# finished instance would ignore it anyway).
TWICE = Chart("twice", version=1, initial="placed", states={
    "placed": State(on={"accept": "charging"}),
    "charging": State(entry=[Effect("charge", args={"amount": 42})],
                      on={"done.effect.charge": "paid"}),
    "paid": State(on={"done.effect.charge": "twice"}),
    "twice": State(on={"back": "placed"}),
})


def _charge(args: dict[str, int], key: str) -> dict[str, int]:
    return {"charged": args["amount"]}


def _claimed(client: Client, *ids: str) -> list[EffectRecord]:
    client.register(TWICE, effects={"charge": _charge})
    for instance in ids:
        client.start("twice", instance)
        client.send(instance, "accept")
    effects = client.store.claim_effects(client.worker.owner, client.clock.now(), 30.0)
    assert sorted(e.instance for e in effects) == sorted(ids)
    return sorted(effects, key=lambda e: e.instance)


def _outcome(client: Client, effect: EffectRecord) -> DeliverEvent:
    outcome = client.worker._effect_outcome(effect)
    assert outcome is not None
    return outcome


def _again(outcome: DeliverEvent) -> DeliverEvent:
    """The same outcome delivered a second time (its own answer)."""
    return dataclasses.replace(outcome, future=Future())


def test_an_outcome_writes_no_mailbox_row(client: Client, clock: VirtualClock) -> None:
    client.register(TWICE, effects={"charge": _charge})
    client.start("twice", "t-1")
    client.send("t-1", "accept")
    (effect,) = client.store.effects("t-1")
    assert client.worker.run_until_idle() == 1
    assert client.get("t-1").state == "paid"
    key = outcome_key(effect)
    assert client.store.mailbox("t-1", key) is None
    (done,) = [r for r in client.history("t-1") if r.event == "done.effect.charge"]
    assert done.idempotency_key == key, "the log row still names the outcome"
    (row,) = client.store.effects("t-1")
    assert row.status == "done"


def test_an_outcome_delivered_twice_applies_once(client: Client) -> None:
    (effect,) = _claimed(client, "t-1")
    outcome = _outcome(client, effect)
    again = _again(outcome)
    assert client.engine.submit(outcome).result(WAIT).outcome == "applied"
    rev = client.get("t-1").rev
    state = client.engine.submit(again).result(WAIT)
    assert (state.outcome, state.state) == ("duplicate", "paid")
    assert client.get("t-1").rev == rev
    assert [r.event for r in client.history("t-1")].count("done.effect.charge") == 1


def test_a_duplicate_in_a_group_loses_alone(client: Client) -> None:
    # Written one statement per kind of row, the group finds one outbox row closed already:
    # it is written again commit by commit, and only the duplicate loses.
    first, second, third = _claimed(client, "t-1", "t-2", "t-3")
    early = _outcome(client, first)
    assert client.engine.submit(early).result(WAIT).outcome == "applied"
    client.engine.flush()
    group = [_again(early), _outcome(client, second), _outcome(client, third)]
    assert client.engine._process(group) == []
    assert [r.future.result(WAIT).outcome for r in group] == ["duplicate", "applied", "applied"]
    for instance in ("t-1", "t-2", "t-3"):
        assert client.get(instance).state == "paid"
        assert [r.event for r in client.history(instance)].count("done.effect.charge") == 1
        assert [e.status for e in client.store.effects(instance)] == ["done"]


def test_a_group_of_outcomes_reads_no_mailbox_ahead(client: Client) -> None:
    effects = _claimed(client, "t-1", "t-2")
    group = [_outcome(client, e) for e in effects]
    assert client.engine._cache.prefetch_group(group) == {}


def test_an_outcome_with_no_owner_keeps_its_mailbox_row() -> None:
    # Only a lease holder's outcome is guarded by the row (runtime outcomes always name one).
    plain = DeliverEvent("t-1", Event("done.effect.charge"), strict=False,
                         idempotency_key="k", effect_finish=EffectFinish("e", "done"))
    assert not plain.row_guarded
    owned = dataclasses.replace(plain, effect_finish=EffectFinish("e", "done", owner="w"))
    assert owned.row_guarded
    assert not DeliverEvent("t-1", Event("go"), idempotency_key="k").row_guarded
