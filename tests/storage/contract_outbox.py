"""The store contract, continued: the outbox and dead letters (work waiting to be done).

Run once per backend by ``test_contract.py``, like :class:`contract.StoreContract`.
"""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from contract import advance, created, effect, seed_effects, step

from statekeeper.storage import DeadLetterRecord, EffectFinish, EffectRelease, Store


class OutboxStoreContract:
    """Effects claimed under leases, and letters that exhausted their policy."""

    # -- the outbox ------------------------------------------------------------------------------

    def test_effect_rows_round_trip(self, store: Store) -> None:
        created(store, "o-1")
        row = effect("o-1", "o-1:charge", args=[1, "two"], at_most_once=True, created_at=3.0,
                     available_at=4.0)
        step(store, "o-1", effects=[row])
        [stored] = store.effects()
        assert stored.id is not None
        assert stored == replace(row, id=stored.id)

    def test_claim_leases_runnable_effects_oldest_first(self, store: Store) -> None:
        created(store, "o-1")
        step(store, "o-1", effects=[effect("o-1", "late", available_at=20.0),
                                    effect("o-1", "second", available_at=5.0),
                                    effect("o-1", "first", available_at=0.0)])
        claimed = store.claim_effects("w1", now=10.0, lease=30.0)
        assert [e.key for e in claimed] == ["first", "second"]
        assert all((e.status, e.attempts, e.lease_owner, e.lease_until) ==
                   ("running", 1, "w1", 40.0) for e in claimed)
        assert store.claim_effects("w2", now=10.0, lease=30.0) == []
        assert [e.key for e in store.claim_effects("w2", now=20.0, lease=5.0, limit=1)] == ["late"]
        assert [e.key for e in store.effects(status="pending")] == []
        assert [e.key for e in store.effects("o-1")] == ["late", "second", "first"]

    def test_an_expired_lease_is_reclaimed_with_attempts_counted(self, store: Store) -> None:
        seed_effects(store, 1, 2)
        store.claim_effects("w1", now=10.0, lease=30.0)
        assert store.claim_effects("w2", now=39.9, lease=30.0) == []
        reclaimed = store.claim_effects("w2", now=40.0, lease=30.0)
        assert [(e.attempts, e.lease_owner) for e in reclaimed] == [(2, "w2"), (2, "w2")]
        key = reclaimed[0].key
        assert store.extend_lease(key, "w1", 100.0) is False  # w1 lost it
        assert store.release_effect(key, "w1", available_at=0.0, error="x") is False
        assert store.extend_lease(key, "w2", 100.0) is True
        assert [e.key for e in store.claim_effects("w3", now=80.0, lease=1.0)] == [
            reclaimed[1].key]

    def test_release_backs_off_and_records_the_error(self, store: Store) -> None:
        [key] = seed_effects(store, 1, 1)
        store.claim_effects("w1", now=0.0, lease=10.0)
        assert store.release_effect(key, "w1", available_at=30.0, error="boom") is True
        [row] = store.effects()
        assert (row.status, row.lease_owner, row.lease_until) == ("pending", None, None)
        assert (row.last_error, row.errors, row.available_at) == ("boom", ["boom"], 30.0)
        assert store.claim_effects("w1", now=29.0, lease=10.0) == []
        [again] = store.claim_effects("w2", now=30.0, lease=10.0)
        assert again.attempts == 2
        assert store.release_effect(key, "w2", available_at=31.0, error=None) is True
        assert store.effects()[0].errors == ["boom"]

    def test_effect_finished_closes_the_row_once(self, store: Store) -> None:
        [key] = seed_effects(store, 1, 1)
        store.claim_effects("w1", now=0.0, lease=10.0)
        step(store, "e-000", effect_finished=EffectFinish(key, "dead", error="gave up"))
        [row] = store.effects()
        assert (row.status, row.lease_owner, row.lease_until) == ("dead", None, None)
        assert (row.last_error, row.errors) == ("gave up", ["gave up"])
        assert store.claim_effects("w2", now=1e9, lease=10.0) == []
        late = advance(store.load("e-000"), effect_finished=EffectFinish(key, "done"))
        assert store.apply([late]) == [late]

    def test_an_outcome_is_recorded_only_under_the_lease_of_its_worker(self,
                                                                       store: Store) -> None:
        # w1's lease ran out and w2 took the effect over: w1's outcome (finish or release)
        # conflicts, alone in a group, and leaves w2's lease and the instance as they were.
        keys = seed_effects(store, 2, 1)
        store.claim_effects("w1", now=0.0, lease=10.0)
        assert {e.lease_owner for e in store.claim_effects("w2", now=10.0, lease=10.0)} == {"w2"}
        other = advance(store.load("e-001"))
        for outcome in ({"effect_finished": EffectFinish(keys[0], "done", owner="w1")},
                        {"effect_released": EffectRelease(keys[0], 0.0, "x", owner="w1")}):
            lost = advance(store.load("e-000"), **outcome)
            assert store.apply([lost]) == [lost]
            assert store.apply([lost, other]) == [lost]
            other = advance(store.load("e-001"))
        assert store.load("e-000").rev == 2
        assert [(e.status, e.lease_owner, e.errors) for e in store.effects("e-000")] == [
            ("running", "w2", [])]
        # the holder records it, and without an owner (an operator's step) any open row closes
        step(store, "e-000", effect_finished=EffectFinish(keys[0], "done", owner="w2"))
        assert store.effects("e-000")[0].status == "done"
        store.claim_effects("w3", now=20.0, lease=10.0)  # e-001's, leased to w3
        step(store, "e-001", effect_finished=EffectFinish(keys[1], "failed", "gone"))
        assert store.effects("e-001")[0].status == "failed"

    def test_an_owned_outcome_needs_a_running_row(self, store: Store) -> None:
        # Released for a backoff (pending, nobody's lease): the old holder's outcome is late.
        [key] = seed_effects(store, 1, 1)
        store.claim_effects("w1", now=0.0, lease=10.0)
        assert store.release_effect(key, "w1", available_at=5.0, error="boom") is True
        late = advance(store.load("e-000"),
                       effect_finished=EffectFinish(key, "done", owner="w1"))
        assert store.apply([late]) == [late]
        [row] = store.effects()
        assert (row.status, row.available_at) == ("pending", 5.0)

    def test_two_concurrent_claimers_never_share_a_row(self, store: Store,
                                                       second_handle: Store) -> None:
        keys = seed_effects(store, instances=6, per_instance=40)
        barrier = threading.Barrier(2)
        got: dict[str, list[str]] = {"a": [], "b": []}
        failures: list[BaseException] = []

        def claim_all(handle: Store, owner: str) -> None:
            try:
                barrier.wait(timeout=30)
                while batch := handle.claim_effects(owner, now=1.0, lease=600.0, limit=3):
                    got[owner] += [e.key for e in batch]
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                failures.append(exc)

        threads = [threading.Thread(target=claim_all, args=(store, "a")),
                   threading.Thread(target=claim_all, args=(second_handle, "b"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not failures
        claimed = got["a"] + got["b"]
        assert len(claimed) == len(set(claimed)) and sorted(claimed) == sorted(keys)
        owners = {e.key: e.lease_owner for e in store.effects()}
        assert all(owners[k] == owner for owner, ks in got.items() for k in ks)
        assert {e.attempts for e in store.effects()} == {1}

    # -- dead letters --------------------------------------------------------------------------

    def test_dead_letters(self, store: Store) -> None:
        created(store, "o-1")
        letter = DeadLetterRecord("effect", "o-1", "o-1:charge", {"args": [1]}, ["e1", "e2"], 3.0)
        step(store, "o-1", dead_letters=[letter, replace(letter, key="second")])
        step(store, "o-1", dead_letters=[replace(letter, instance="unknown-target", kind="event")])
        rows = store.dead_letters()
        assert [d.key for d in rows] == ["o-1:charge", "second", "o-1:charge"]
        assert rows[0] == replace(letter, id=rows[0].id)
        assert [d.instance for d in store.dead_letters("unknown-target")] == ["unknown-target"]
        first = rows[0].id
        assert first is not None
        assert store.delete_dead_letter(first) is True
        assert store.delete_dead_letter(first) is False
        step(store, "o-1", dead_letters=[replace(letter, key="later")])
        newest = store.dead_letters()[-1].id
        assert newest is not None and newest > max(d.id or 0 for d in rows)  # ids never reused

    def test_one_dead_letter_by_id(self, store: Store) -> None:
        created(store, "o-1")
        letter = DeadLetterRecord("effect", "o-1", "o-1:charge", {"args": [1]}, ["e1"], 3.0)
        step(store, "o-1", dead_letters=[letter, replace(letter, key="second")])
        first, second = store.dead_letters()
        assert first.id is not None and second.id is not None
        assert store.dead_letter(second.id) == second
        assert store.dead_letter(first.id) == replace(letter, id=first.id)
        assert store.dead_letter(second.id + 1000) is None
        for wrong in (str(second.id), float(second.id), None, [second.id]):
            with pytest.raises(TypeError, match="dead letter id"):
                store.dead_letter(wrong)  # type: ignore[arg-type]
            with pytest.raises(TypeError, match="dead letter id"):
                store.delete_dead_letter(wrong)  # type: ignore[arg-type]
        assert store.dead_letter(second.id) == second  # a refused delete deleted nothing
        store.delete_dead_letter(first.id)
        assert store.dead_letter(first.id) is None

    def test_dead_letters_of_one_instance_and_of_all(self, store: Store) -> None:
        for iid in ("a", "b"):
            created(store, iid)
        letter = DeadLetterRecord("effect", "a", "k", {}, [], 1.0)
        step(store, "a", dead_letters=[letter])
        step(store, "b", dead_letters=[replace(letter, instance="b", key="k2")])
        step(store, "a", dead_letters=[replace(letter, key="k3")])
        assert [d.key for d in store.dead_letters("a")] == ["k", "k3"]
        assert [d.key for d in store.dead_letters("b")] == ["k2"]
        assert [d.key for d in store.dead_letters("none")] == []
        assert [d.key for d in store.dead_letters()] == ["k", "k2", "k3"]
