"""Conflicts and redeliveries: a timer or effect outcome delivered twice is settled, never looped.

Each test here used to hang the engine (a lost commit re-planned forever) or fire a re-armed
timer early; the futures are awaited with a timeout so a regression fails instead of hanging.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from statekeeper import Chart, Effect, Final, State, VirtualClock
from statekeeper.client import Client
from statekeeper.core.events import Event
from statekeeper.runtime.engine import CommitConflict
from statekeeper.runtime.requests import DeliverEvent
from statekeeper.storage.base import StoreUnavailable
from statekeeper.storage.memory import MemoryStore
from statekeeper.storage.records import Commit

FLOW = Chart("flow", version=1, initial="a", states={
    "a": State(on={"go": "b"}, after={"1s": "late"}),
    "b": State(on={"back": "a", "pay": "paying"}),
    "late": State(on={"back": "a"}),
    "paying": State(entry=[Effect("charge")],
                    on={"done.effect.charge": "paid", "error.effect.charge": "failed"}),
    "paid": Final(),
    "failed": Final(),
})

WAIT = 5.0  # seconds: a hung engine fails the test instead of hanging the suite


def charge(args: Any, key: str) -> str:
    return key


def setup(client: Client) -> None:
    client.register(FLOW, effects={"charge": charge})
    client.start("flow", "f-1")


def timer_request(client: Client, instance: str = "f-1") -> DeliverEvent:
    (timer,) = client.store.timers(instance)
    return client.worker.timers.request(timer, client.clock.now())


def test_timer_redelivered_after_its_state_was_left_is_settled(client: Client) -> None:
    setup(client)
    request = timer_request(client)
    client.send("f-1", "go")  # leaving "a" cancels the timer row
    state = client.engine.submit(request).result(WAIT)
    assert state.state == "b"
    assert client.get("f-1").state == "b"
    assert client.store.timers("f-1") == []


def test_timer_redelivered_after_it_fired_is_settled(client: Client,
                                                     clock: VirtualClock) -> None:
    setup(client)
    clock.advance(1)
    request = timer_request(client)
    client.worker.run_until_idle()
    assert client.get("f-1").state == "late"
    rev = client.get("f-1").rev
    state = client.engine.submit(request).result(WAIT)
    assert state.state == "late"
    assert client.get("f-1").rev == rev, "a duplicate changes nothing"
    fired = [r for r in client.history("f-1") if r.event.startswith("statekeeper.after")]
    assert len(fired) == 1


def test_stale_delivery_of_a_rearmed_timer_does_not_fire_the_new_one(
        client: Client, clock: VirtualClock) -> None:
    setup(client)
    old = timer_request(client)  # due at t0 + 1
    clock.advance(0.5)
    client.send("f-1", "go")
    client.send("f-1", "back")  # the same timer id, re-armed: due at t0 + 1.5
    clock.advance(0.7)
    client.engine.submit(old).result(WAIT)
    assert client.get("f-1").state == "a", "the re-armed timer is not due yet"
    (timer,) = client.store.timers("f-1")
    assert timer.due == pytest.approx(clock.now() + 0.3)
    clock.advance(0.3)
    client.worker.run_until_idle()
    assert client.get("f-1").state == "late"


def test_effect_outcome_delivered_twice_is_applied_once(client: Client) -> None:
    setup(client)
    client.send("f-1", "go")
    client.send("f-1", "pay")
    (effect,) = client.store.claim_effects(client.worker.owner, client.clock.now(), 30.0)
    first = client.worker._effect_outcome(effect)
    second = client.worker._effect_outcome(effect)
    assert first is not None and second is not None
    assert client.engine.submit(first).result(WAIT).state == "paid"
    assert client.engine.submit(second).result(WAIT).state == "paid"
    done = [r for r in client.history("f-1") if r.event == "done.effect.charge"]
    assert len(done) == 1


class AlwaysConflicting(MemoryStore):
    """Another writer that always wins: every update of an existing instance conflicts."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = False

    def apply(self, commits: Sequence[Commit]) -> list[Commit]:
        if self.armed:
            return [c for c in commits if c.expected_rev is not None]
        return super().apply(commits)


def test_endless_conflicts_end_in_a_clear_error(clock: VirtualClock) -> None:
    store = AlwaysConflicting()
    with Client(store, clock=clock, worker=False) as client:
        setup(client)
        store.armed = True
        with pytest.raises(CommitConflict, match="f-1"):
            client.engine.submit(DeliverEvent("f-1", _event("go"))).result(WAIT)
        store.armed = False
        assert client.send("f-1", "go").state == "b", "the engine goes on working"


def _event(name: str) -> Any:
    from statekeeper.core.events import Event

    return Event(name)


def test_a_lost_commit_does_not_replay_an_earlier_one_of_the_same_batch(client: Client) -> None:
    # Regression: conflicts were matched by instance, so when the second of two commits of one
    # instance lost, the first (already written) was planned and applied a second time.
    import dataclasses

    setup(client)
    client.send("f-1", "go")
    client.send("f-1", "pay")
    (effect,) = client.store.claim_effects(client.worker.owner, client.clock.now(), 30.0)
    outcome = client.worker._effect_outcome(effect)
    assert outcome is not None
    first = dataclasses.replace(outcome, idempotency_key=None)
    second = dataclasses.replace(outcome, idempotency_key=None,
                                 future=type(outcome.future)())
    client.engine.flush()
    later = client.engine._process([first, second])
    assert later == []
    assert first.future.result(WAIT).outcome == "applied"
    assert second.future.result(WAIT).outcome == "duplicate"
    done = [r for r in client.history("f-1") if r.event == "done.effect.charge"]
    assert len(done) == 1


class FailingOnce(MemoryStore):
    """A store whose next group commit fails (the database was unavailable)."""

    def __init__(self) -> None:
        super().__init__()
        self.fail = False

    def apply(self, commits: Sequence[Commit]) -> list[Commit]:
        if self.fail:
            self.fail = False
            raise StoreUnavailable("locked")
        return super().apply(commits)


def test_a_second_start_in_one_batch_waits_for_the_first(clock: VirtualClock) -> None:
    # Regression (found by tests/runtime/test_faults.py): the second start of one id in a batch
    # was answered "exists" before the first was committed; a caller then sent an event that
    # found no instance, and had the first commit failed the instance would never exist.
    from statekeeper.runtime.requests import StartInstance

    store = FailingOnce()
    with Client(store, clock=clock, worker=False) as client:
        client.register(FLOW, effects={"charge": charge})
        first, second = StartInstance("flow", "f-1"), StartInstance("flow", "f-1")
        client.engine.flush()
        store.fail = True
        later = client.engine._process([first, second])
        assert isinstance(first.future.exception(WAIT), StoreUnavailable)
        assert later == [second] and not second.future.done()
        assert client.engine._process(later) == []
        assert second.future.result(WAIT).state == "a"


def test_a_timer_fired_by_another_process_is_settled_not_replanned(clock: VirtualClock) -> None:
    # Two engines on one store: B plans the timer on its cached (stale) snapshot, loses the
    # rev check, and finds the row gone: answered as a duplicate, not re-planned forever.
    import dataclasses

    from statekeeper import EventNotAccepted

    store = MemoryStore()
    with Client(store, clock=clock, worker=False) as a, \
            Client(store, clock=clock, worker=False) as b:
        for client in (a, b):
            client.register(FLOW, effects={"charge": charge})
        a.start("flow", "f-1")
        with pytest.raises(EventNotAccepted):
            b.send("f-1", "nope")  # B now caches f-1
        clock.advance(1)
        request = dataclasses.replace(timer_request(a), idempotency_key=None)
        a.worker.run_until_idle()  # A fires it
        assert a.get("f-1").state == "late"
        rev = a.get("f-1").rev
        state = b.engine.submit(request).result(WAIT)
        assert (state.outcome, state.state) == ("duplicate", "late")
        assert b.get("f-1").rev == rev


class _CommitsAfterFirstLook:
    """A real store, with another worker's commit landing right after the first mailbox read.

    Reproduces a race between two processes delivering the same keyed event: the second one
    finds no mailbox row, then the first one commits.
    """

    def __init__(self, store: Any, other: Client, key: str) -> None:
        self._store, self._other, self._key, self._fired = store, other, key, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def mailbox(self, instance: str, key: str) -> Any:
        seen = self._store.mailbox(instance, key)
        if not self._fired:
            self._fired = True
            self._other.send(instance, "go", idempotency_key=self._key)
        return seen


def test_a_keyed_event_committed_by_another_worker_meanwhile_is_a_duplicate(
        tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    with Client(url, clock=VirtualClock(), worker=False) as first, \
            Client(url, clock=VirtualClock(), worker=False) as second:
        for client in (first, second):
            client.register(FLOW, effects={"charge": charge})
        second.start("flow", "f-1")
        second.engine._cache.clear()  # as a process that has not seen the instance yet
        second.engine.store = _CommitsAfterFirstLook(second.store, first, "req-1")
        state = second.engine.submit(DeliverEvent("f-1", Event("go"), True, "req-1")).result(WAIT)
        assert (state.outcome, state.state) == ("duplicate", "b")
        assert [r.event for r in first.history("f-1")].count("go") == 1
