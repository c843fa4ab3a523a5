"""Effects after a crash: at-least-once (same key, re-run once the lease expires) and
at-most-once (never run a second time: the chart hears ``error.effect.<name>`` instead)."""

from __future__ import annotations

from typing import Any

from order_chart import ORDER

from statekeeper import VirtualClock
from statekeeper.client import Client

LEASE = 30.0  # the client's default


class Card:
    def __init__(self) -> None:
        self.keys: list[str] = []

    def charge(self, args: dict[str, Any], key: str) -> dict[str, Any]:
        self.keys.append(key)
        return {"charged": args["amount"]}


def crashed_mid_effect(client: Client, card: Card, *, ran: bool) -> str:
    """A worker claims the effect (and maybe runs it), then dies before its outcome commits."""
    client.start("order", "o-1")
    client.send("o-1", "accept")
    (effect,) = client.store.claim_effects("dead-worker", client.clock.now(), LEASE)
    assert effect.attempts == 1
    if ran:
        card.charge(effect.args, key=effect.key)
    return effect.key


def test_at_least_once_reruns_with_the_same_key_after_the_lease_expires(
        client: Client, clock: VirtualClock) -> None:
    card = Card()
    client.register(ORDER, effects={"charge": card.charge})
    key = crashed_mid_effect(client, card, ran=True)
    clock.advance(LEASE - 1)
    client.worker.run_until_idle()
    assert card.keys == [key], "the lease is still held: nobody else runs it"
    assert client.get("o-1").state == "charging"
    clock.advance(1)
    client.worker.run_until_idle()
    assert card.keys == [key, key], "re-run once, under the same idempotency key"
    assert client.get("o-1").state == "paid"
    (row,) = client.store.effects("o-1")
    assert (row.status, row.attempts) == ("done", 2)
    outcomes = [r for r in client.history("o-1") if r.event == "done.effect.charge"]
    assert len(outcomes) == 1 and outcomes[0].idempotency_key == f"statekeeper.effect:{key}"


def test_the_dead_workers_late_outcome_is_a_duplicate(client: Client,
                                                       clock: VirtualClock) -> None:
    card = Card()
    client.register(ORDER, effects={"charge": card.charge})
    crashed_mid_effect(client, card, ran=False)
    (stale,) = client.store.effects("o-1")
    clock.advance(LEASE)
    client.worker.run_until_idle()
    assert client.get("o-1").state == "paid"
    rev = client.get("o-1").rev
    late = client.worker._effect_outcome(stale)  # the first worker was only slow, not dead
    assert late is not None
    assert client.engine.submit(late).result(5).outcome == "duplicate"
    assert client.get("o-1").rev == rev


def test_at_most_once_is_not_run_again_after_a_crash(client: Client,
                                                      clock: VirtualClock) -> None:
    card = Card()
    client.register(ORDER, effects={"charge": card.charge}, at_most_once={"charge"})
    key = crashed_mid_effect(client, card, ran=True)
    clock.advance(LEASE)
    client.worker.run_until_idle()
    assert card.keys == [key], "never a second run"
    state = client.get("o-1")
    assert state.state == "failed"
    (row,) = client.store.effects("o-1")
    assert row.status == "failed" and "at-most-once" in (row.last_error or "")
    (error,) = [r for r in client.history("o-1") if r.event == "error.effect.charge"]
    assert error.data["attempts"] == 2 and error.data["key"] == key


def test_at_most_once_runs_normally_without_a_crash(client: Client) -> None:
    card = Card()
    client.register(ORDER, effects={"charge": card.charge}, at_most_once={"charge"})
    client.start("order", "o-1")
    client.send("o-1", "accept")
    client.worker.run_until_idle()
    assert client.get("o-1").state == "paid"
    assert len(card.keys) == 1


def test_a_worker_that_does_not_know_the_chart_leaves_the_effect_alone(tmp_path: Any) -> None:
    """A process starts its worker before it registers its charts: it must not fail effects."""
    url = f"sqlite:///{tmp_path / 'orders.db'}"
    card = Card()
    with Client(url, clock=VirtualClock(), worker=False) as first:
        first.register(ORDER, effects={"charge": card.charge})
        first.start("order", "o-1")
        first.send("o-1", "accept")
    with Client(url, clock=VirtualClock(), worker=False) as fresh:
        fresh.worker.run_until_idle()
        (row,) = fresh.store.effects("o-1")
        assert (row.status, row.attempts, row.errors) == ("pending", 0, [])
        assert fresh.get("o-1").state == "charging"
        fresh.register(ORDER, effects={"charge": card.charge})
        fresh.clock.advance(fresh.worker.poll)
        fresh.worker.run_until_idle()
        assert fresh.get("o-1").state == "paid" and len(card.keys) == 1


def test_a_long_effect_keeps_its_lease_while_its_worker_lives(tmp_path: Any) -> None:
    import threading

    clock = VirtualClock(1000.0)
    started, release = threading.Event(), threading.Event()

    def slow(args: Any, key: str) -> str:
        started.set()
        assert release.wait(30)
        return "charged"

    with Client(f"sqlite:///{tmp_path / 'orders.db'}", clock=clock, lease=LEASE) as client:
        client.register(ORDER, effects={"charge": slow})
        client.start("order", "o-1")
        client.send("o-1", "accept")
        assert started.wait(30)
        for _ in range(4):  # two whole leases pass while the effect runs
            clock.advance(LEASE / 2)
            client.worker.heartbeat()
            assert client.store.claim_effects("another-worker", clock.now(), LEASE) == []
        (row,) = client.store.effects("o-1")
        assert row.lease_owner == client.worker.owner and (row.lease_until or 0) > clock.now()
        assert row.attempts == 1
        release.set()
        assert client.when("o-1", "paid", timeout=30).state == "paid"
