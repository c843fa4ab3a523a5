"""Effects under their declared policy, on memory and SQLite, driven by the virtual clock.

Retries are rows in the store (a backoff is ``available_at``), breakers and rate limits are
shared state in the store, and every outcome reaches the chart as an event.
"""

from __future__ import annotations

import random

import pytest
from policy_charts import Downstream, order

from statekeeper import Chart, Final, State, VirtualClock
from statekeeper.client import Client
from statekeeper.resilience import Attempt, Breaker, Retry


def paying(client: Client, *ids: str) -> None:
    for iid in ids:
        client.start("order", iid)
        client.send(iid, "pay")


def test_a_failing_effect_is_retried_on_its_backoff_schedule(client: Client,
                                                               clock: VirtualClock) -> None:
    api = Downstream(failures=2)
    seen: list[Attempt] = []
    client.worker.runner.hooks.append(seen.append)
    client.register(order(), effects={"charge": api.charge})
    paying(client, "o-1")
    t0 = clock.now()
    client.worker.run_until_idle()
    assert len(api.calls) == 1 and client.get("o-1").state == "charging"
    [row] = client.store.effects("o-1")
    assert (row.status, row.available_at, row.attempts) == ("pending", t0 + 1.0, 1)
    clock.advance(0.999)
    client.worker.run_until_idle()
    assert len(api.calls) == 1, "not before its backoff"
    clock.advance(0.001)
    client.worker.run_until_idle()
    assert len(api.calls) == 2 and client.store.effects("o-1")[0].available_at == t0 + 3.0
    clock.advance(2.0)
    client.worker.run_until_idle()
    assert client.get("o-1").state == "paid"
    assert len(set(api.calls)) == 1, "every attempt carries the one idempotency key"
    [row] = client.store.effects("o-1")
    assert (row.status, row.attempts, len(row.errors)) == ("done", 3, 2)
    finished = [(a.attempt, a.outcome, a.delay) for a in seen if a.phase == "finished"]
    assert finished == [(1, "error", 1.0), (2, "error", 2.0), (3, "ok", 0.0)]
    assert [a.attempt for a in seen if a.phase == "started"] == [1, 2, 3]
    assert all(a.key == row.key and a.instance == "o-1" for a in seen)


def test_jittered_backoff_stays_within_its_caps(client: Client, clock: VirtualClock) -> None:
    api = Downstream(failures=3)
    client.worker.runner.rng = random.Random(7)
    client.register(order(retry=Retry(4, base_delay=1.0, max_delay=3.0)),
                    effects={"charge": api.charge})
    paying(client, "o-1")
    waits = []
    for cap in (1.0, 2.0, 3.0):
        before = clock.now()
        client.worker.run_until_idle()
        [row] = client.store.effects("o-1")
        wait = row.available_at - before
        assert 0.0 <= wait <= cap
        waits.append(wait)
        clock.advance(wait)
    client.worker.run_until_idle()
    assert client.get("o-1").state == "paid"
    assert len(set(waits)) == 3, "full jitter draws, not a fixed schedule"


def test_exhausted_retries_tell_the_chart_and_keep_a_dead_letter(client: Client,
                                                                 clock: VirtualClock) -> None:
    api = Downstream(failures=99)
    client.register(order(), effects={"charge": api.charge})
    paying(client, "o-1")
    for _ in range(4):
        client.worker.run_until_idle()
        clock.advance(8.0)
    assert client.get("o-1").state == "failed"
    assert len(api.calls) == 4
    [error] = [r for r in client.history("o-1") if r.event == "error.effect.charge"]
    assert error.data["attempts"] == 4 and error.data["reason"] == "exhausted"
    assert len(error.data["errors"]) == 4 and error.data["error"].startswith("ConnectionError")
    [letter] = client.dead_letters()
    assert (letter.kind, letter.instance, letter.key) == ("effect", "o-1", api.calls[0])
    assert letter.payload["name"] == "charge" and len(letter.errors) == 4
    assert client.store.effects("o-1")[0].status == "dead"


def test_a_fatal_error_is_not_retried(client: Client) -> None:
    api = Downstream(failures=1, error=ValueError)
    client.register(order(), effects={"charge": api.charge})
    paying(client, "o-1")
    client.worker.run_until_idle()
    assert len(api.calls) == 1 and client.get("o-1").state == "failed"
    [error] = [r for r in client.history("o-1") if r.event == "error.effect.charge"]
    assert (error.data["reason"], error.data["attempts"]) == ("fatal", 1)
    assert len(client.dead_letters()) == 1


def test_an_effect_without_a_retry_policy_fails_once_and_keeps_no_letter(client: Client) -> None:
    api = Downstream(failures=1)
    client.register(order(retry=None), effects={"charge": api.charge})
    paying(client, "o-1")
    client.worker.run_until_idle()
    assert client.get("o-1").state == "failed" and client.dead_letters() == []


def test_a_retry_after_hint_is_honoured(client: Client, clock: VirtualClock) -> None:
    class Throttled(Exception):
        retry_after = 30.0

    api = Downstream(failures=1, error=Throttled)
    client.register(order(), effects={"charge": api.charge})
    paying(client, "o-1")
    t0 = clock.now()
    client.worker.run_until_idle()
    assert client.store.effects("o-1")[0].available_at == t0 + 30.0


BREAKER = Breaker("payments", failure_rate=1.0, min_calls=2, window=10, open_for=60.0)


@pytest.fixture
def breaker_client(store_url: str, clock: VirtualClock):  # type: ignore[no-untyped-def]
    with Client(store_url, clock=clock, worker=False, breakers={"payments": BREAKER}) as made:
        yield made


def test_an_open_breaker_is_an_event_the_chart_can_take(breaker_client: Client,
                                                        clock: VirtualClock) -> None:
    client = breaker_client
    api = Downstream(failures=2)
    client.register(order(retry=None, breaker="payments", blocked="waiting"),
                    effects={"charge": api.charge})
    paying(client, "o-1", "o-2")
    client.worker.run_until_idle()
    assert [client.get(i).state for i in ("o-1", "o-2")] == ["failed", "failed"]
    assert client.worker.policies.state("payments").status == "open"
    paying(client, "o-3")
    client.worker.run_until_idle()
    assert len(api.calls) == 2, "the open breaker made no call"
    assert client.get("o-3").state == "waiting"
    [blocked] = [r for r in client.history("o-3") if r.event == "blocked.effect.charge"]
    assert blocked.data["retry_at"] == pytest.approx(clock.now() + 60.0)
    assert client.store.effects("o-3")[0].status == "failed"  # the chart took it over
    clock.advance(60.0)
    client.send("o-3", "retry")
    client.worker.run_until_idle()
    assert client.get("o-3").state == "paid", "the half-open probe succeeded"
    assert client.worker.policies.state("payments").status == "closed"


def test_an_effect_the_chart_does_not_guard_waits_for_the_breaker(breaker_client: Client,
                                                                   clock: VirtualClock) -> None:
    client = breaker_client
    api = Downstream(failures=2)
    client.register(order(retry=None, breaker="payments"), effects={"charge": api.charge})
    paying(client, "o-1", "o-2")
    client.worker.run_until_idle()
    paying(client, "o-3")
    client.worker.run_until_idle()
    assert len(api.calls) == 2 and client.get("o-3").state == "charging"
    ignored = [r for r in client.history("o-3") if r.event == "blocked.effect.charge"]
    assert [r.outcome for r in ignored] == ["ignored"]
    [row] = client.store.effects("o-3")
    assert (row.status, row.attempts) == ("pending", 0)
    clock.advance(59.0)
    client.worker.run_until_idle()
    assert len(api.calls) == 2
    clock.advance(1.0)
    client.worker.run_until_idle()
    assert client.get("o-3").state == "paid" and len(api.calls) == 3
    assert len([r for r in client.history("o-3") if r.event == "blocked.effect.charge"]) == 1


def test_a_full_bulkhead_defers_without_counting_an_attempt(client: Client,
                                                            clock: VirtualClock) -> None:
    api = Downstream()
    client.register(order(bulkhead=1), effects={"charge": api.charge})
    paying(client, "o-1", "o-2")
    [held] = client.store.claim_effects("another-worker", clock.now(), 30.0, limit=1)
    client.worker.run_until_idle()
    assert api.calls == [], "the other worker holds the only slot"
    waiting = next(e for e in client.store.effects() if e.key != held.key)
    assert (waiting.status, waiting.attempts) == ("pending", 0)
    clock.advance(30.0)  # the other worker died: its lease ends and its slot with it
    client.worker.run_until_idle()
    assert len(api.calls) == 1, "one slot: one call at a time"
    clock.advance(0.1)
    client.worker.run_until_idle()
    assert sorted(api.calls) == sorted([held.key, waiting.key])
    assert {client.get(i).state for i in ("o-1", "o-2")} == {"paid"}


def test_a_rate_limit_spaces_calls_out(client: Client, clock: VirtualClock) -> None:
    api = Downstream()
    client.register(order(rate="1/s"), effects={"charge": api.charge})
    paying(client, "o-1", "o-2", "o-3")
    client.worker.run_until_idle()
    assert len(api.calls) == 1
    clock.advance(1.0)
    client.worker.run_until_idle()
    assert len(api.calls) == 2
    clock.advance(1.0)
    client.worker.run_until_idle()
    assert len(api.calls) == 3
    assert all(e.attempts == 1 for e in client.store.effects())


def test_dead_letters_are_replayed_and_discarded_with_a_log_row(client: Client,
                                                                clock: VirtualClock) -> None:
    api = Downstream(failures=2, error=ValueError)
    client.register(order(), effects={"charge": api.charge})
    paying(client, "o-1", "o-2")
    client.worker.run_until_idle()
    first, second = client.dead_letters()
    assert first.id is not None and second.id is not None
    assert client.dead_letter(first.id) == first
    client.replay_dead_letter(first.id, actor="ops@example.com")
    client.worker.run_until_idle()
    assert len(api.calls) == 3 and api.calls[2] == first.key, "same idempotency key"
    [row] = client.store.effects(first.instance)
    assert (row.status, row.attempts) == ("done", 1)
    replayed = [r for r in client.history(first.instance)
                if r.event == "statekeeper.dead_letter.replayed"]
    assert [(r.actor, r.outcome) for r in replayed] == [("ops@example.com", "applied")]
    client.discard_dead_letter(second.id, actor="ops@example.com")
    assert client.dead_letters() == []
    [discarded] = [r for r in client.history(second.instance)
                   if r.event == "statekeeper.dead_letter.discarded"]
    assert str(second.id) in (discarded.reason or "")
    from statekeeper import UnknownDeadLetter

    with pytest.raises(UnknownDeadLetter):
        client.replay_dead_letter(first.id)


def test_a_timeout_cancels_the_attempt_when_the_clock_says_so(store_url: str,
                                                              clock: VirtualClock) -> None:
    import asyncio
    import threading
    import time

    started, cancelled = threading.Event(), threading.Event()

    async def slow(args: object, key: str) -> None:
        started.set()
        try:
            await asyncio.Event().wait()  # never answers
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with Client(store_url, clock=clock, breakers={}) as client:  # background worker threads
        client.register(order(retry=None, timeout="5s"), effects={"charge": slow})
        paying(client, "o-1")
        assert started.wait(30)
        deadline = time.monotonic() + 30
        while clock.next_due() is None:  # the attempt has armed its timeout on the clock
            assert time.monotonic() < deadline, "the attempt never armed its timeout"
            time.sleep(0.005)
        assert clock.next_due() == pytest.approx(clock.now() + 5.0)
        clock.advance(4.9)
        assert not cancelled.is_set()
        clock.advance(0.1)
        assert cancelled.wait(30)
        reached = client.when("o-1", "failed", timeout=30)
        assert reached.state == "failed"
        [error] = [r for r in client.history("o-1") if r.event == "error.effect.charge"]
        assert error.data["error"] == "TimeoutError: attempt timed out after 5s"


def test_an_event_for_a_missing_instance_is_kept_and_replayed(client: Client) -> None:
    """A durable send to an instance that does not exist becomes an ``event`` dead letter.

    Charts cannot address other instances yet (SEM-8), so the outbox row such a send will
    write is committed here directly, as the planner writes it.
    """
    from dataclasses import replace

    from statekeeper.core.events import Event
    from statekeeper.runtime.planner import SEND_EFFECT
    from statekeeper.storage.records import Commit, EffectRecord

    peer = Chart("peer", version=1, initial="waiting", states={
        "waiting": State(on={"ping": "pinged"}), "pinged": Final()})
    client.register(peer)
    client.start("peer", "s-1")
    record = client.store.load("s-1")
    send = EffectRecord("s-1:send:1", "s-1", SEND_EFFECT,
                        {"target": "peer-1", "event": Event("ping").to_dict()})
    assert client.store.apply([Commit(replace(record), record.rev, effects=[send])]) == []
    client.engine._cache.clear()
    client.worker.run_until_idle()
    [letter] = client.dead_letters()
    assert (letter.kind, letter.instance, letter.payload["event"]["name"]) == (
        "event", "peer-1", "ping")
    assert letter.payload["from"] == "s-1" and "peer-1" in letter.errors[0]
    assert client.store.effects("s-1")[0].status == "dead"
    from statekeeper import UnknownInstance

    assert letter.id is not None
    with pytest.raises(UnknownInstance):
        client.replay_dead_letter(letter.id)  # the target still does not exist
    assert client.dead_letters() == [letter], "the letter is kept"
    client.start("peer", "peer-1")
    assert letter.id is not None
    assert client.replay_dead_letter(letter.id, actor="ops").state == "pinged"
    assert client.dead_letters() == []
    [row] = [r for r in client.history("peer-1") if r.event == "ping"]
    assert (row.actor, row.idempotency_key) == ("ops", letter.key)


def test_a_deadline_ends_the_retries_of_a_durable_effect(client: Client,
                                                          clock: VirtualClock) -> None:
    from statekeeper import Effect

    api = Downstream(failures=99)
    chart = Chart("order", version=1, initial="charging", states={
        "charging": State(entry=[Effect("charge", retry=Retry(10, base_delay=10.0,
                                                                 jitter="none"),
                                        deadline="15s")],
                          on={"done.effect.charge": "paid", "error.effect.charge": "failed"}),
        "paid": Final(), "failed": Final()})
    client.register(chart, effects={"charge": api.charge})
    client.start("order", "o-1")
    client.worker.run_until_idle()
    clock.advance(10.0)
    client.worker.run_until_idle()  # attempt 2 fails; a 20 s wait would pass the 15 s budget
    assert client.get("o-1").state == "failed" and len(api.calls) == 2
    [error] = [r for r in client.history("o-1") if r.event == "error.effect.charge"]
    assert (error.data["reason"], error.data["attempts"]) == ("deadline", 2)


def test_waiting_for_a_breaker_does_not_hide_a_crash_of_an_at_most_once_effect(
        breaker_client: Client, clock: VirtualClock) -> None:
    client = breaker_client
    api = Downstream(failures=2)
    client.register(order(retry=None, breaker="payments"), effects={"charge": api.charge},
                    at_most_once={"charge"})
    paying(client, "o-1", "o-2")
    client.worker.run_until_idle()  # two failures open the breaker
    paying(client, "o-3")
    client.worker.run_until_idle()  # o-3 waits for the breaker (recorded, not an attempt)
    clock.advance(60.0)
    [claimed] = client.store.claim_effects("dying-worker", clock.now(), 30.0)
    assert claimed.instance == "o-3"  # ...and that worker dies mid-call
    clock.advance(30.0)
    client.worker.run_until_idle()
    assert client.get("o-3").state == "failed", "an at-most-once effect is not run twice"
    assert len(api.calls) == 2
    [error] = [r for r in client.history("o-3") if r.event == "error.effect.charge"]
    assert error.data["error"].startswith("interrupted")


def test_unknown_dead_letters_are_refused_by_every_action(client: Client) -> None:
    from statekeeper import UnknownDeadLetter

    for action in (client.dead_letter, client.replay_dead_letter, client.discard_dead_letter):
        with pytest.raises(UnknownDeadLetter, match="no dead letter 42"):
            action(42)


def test_a_corrupted_breaker_state_is_refused_not_reset(breaker_client: Client) -> None:
    from statekeeper import IntegrityError

    client = breaker_client
    assert client.store.put_policy_state("breaker:payments", {"status": "melted"},
                                         expected_version=None, now=0.0)
    with pytest.raises(IntegrityError, match="corrupted breaker state"):
        client.worker.policies.state("payments")
    api = Downstream()
    client.register(order(retry=None, breaker="payments"), effects={"charge": api.charge})
    paying(client, "o-1")
    with pytest.raises(IntegrityError, match="corrupted breaker state"):
        client.worker.run_until_idle()
    assert api.calls == [], "no call is made on a breaker whose state cannot be read"
    assert client.get("o-1").state == "charging"
    row = client.store.policy_state("breaker:payments")
    assert row is not None and row.value == {"status": "melted"}, "never silently repaired"
