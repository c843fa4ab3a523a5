"""The store contract, continued: what resilience policies need from every backend.

Shared breaker and rate-limit state (compare and set), bulkhead counts, refunded attempts,
effects given back or reopened inside a step's commit, and dead letters deleted with it.
"""

from __future__ import annotations

import threading

from contract import advance, seed_effects, step

from statekeeper.storage import (
    DeadLetterRecord,
    EffectFinish,
    EffectRelease,
    EffectReopen,
    Store,
)


class PolicyStoreContract:
    """Run once per backend by ``test_contract.py``."""

    # -- shared policy state -------------------------------------------------------------------

    def test_policy_state_is_compare_and_set(self, store: Store) -> None:
        assert store.policy_state("breaker:payments") is None
        assert store.put_policy_state("breaker:payments", {"status": "closed"},
                                      expected_version=None, now=1.0) is True
        assert store.put_policy_state("breaker:payments", {"status": "open"},
                                      expected_version=None, now=2.0) is False  # exists
        first = store.policy_state("breaker:payments")
        assert first is not None
        assert (first.value, first.version, first.updated_at) == ({"status": "closed"}, 1, 1.0)
        assert store.put_policy_state("breaker:payments", {"status": "open"},
                                      expected_version=1, now=3.0) is True
        assert store.put_policy_state("breaker:payments", {"status": "half_open"},
                                      expected_version=1, now=4.0) is False  # stale read
        last = store.policy_state("breaker:payments")
        assert last is not None and (last.value, last.version) == ({"status": "open"}, 2)
        assert store.integrity_check() == []

    def test_concurrent_increments_lose_nothing(self, store: Store,
                                                second_handle: Store) -> None:
        def bump(handle: Store, times: int) -> None:
            for _ in range(times):
                while True:
                    row = handle.policy_state("counter")
                    n = 0 if row is None else row.value["n"]
                    if handle.put_policy_state("counter", {"n": n + 1}, now=0.0,
                                               expected_version=None if row is None
                                               else row.version):
                        break

        threads = [threading.Thread(target=bump, args=(h, 50)) for h in (store, second_handle)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        row = store.policy_state("counter")
        assert row is not None and row.value == {"n": 100}

    # -- bulkheads and refunds -------------------------------------------------------------------

    def test_count_running_counts_live_leases_of_one_name(self, store: Store) -> None:
        seed_effects(store, 2, 2)
        assert store.count_running("charge", 0.0) == 0
        store.claim_effects("w1", now=0.0, lease=10.0, limit=3)
        assert store.count_running("charge", 5.0) == 3
        assert store.count_running("ship", 5.0) == 0
        assert store.count_running("charge", 10.0) == 0  # the leases ended: a crashed worker's

    def test_a_refunded_release_does_not_count_the_attempt(self, store: Store) -> None:
        [key] = seed_effects(store, 1, 1)
        store.claim_effects("w1", now=0.0, lease=10.0)
        assert store.release_effect(key, "w1", available_at=2.0, error=None, refund=True)
        [row] = store.effects()
        assert (row.attempts, row.status, row.errors) == (0, "pending", [])
        [again] = store.claim_effects("w1", now=2.0, lease=10.0)
        assert again.attempts == 1

    # -- effects given back or reopened in a step's commit -----------------------------------------

    def test_a_commit_may_release_its_effect_instead_of_finishing_it(self, store: Store) -> None:
        [key] = seed_effects(store, 1, 1)
        store.claim_effects("w1", now=0.0, lease=10.0)
        release = EffectRelease(key, 7.0, "BreakerOpen: payments", refund=True)
        step(store, "e-000", effect_released=release)
        [row] = store.effects()
        assert (row.status, row.available_at, row.attempts, row.lease_owner) == (
            "pending", 7.0, 0, None)
        assert row.errors == ["BreakerOpen: payments"]
        step(store, "e-000", effect_finished=EffectFinish(key, "done"))
        late = store.load("e-000")
        commit = advance(late, effect_released=release)
        assert store.apply([commit]) == [commit]  # the row is closed: a conflict

    def test_reopening_a_dead_effect_and_deleting_its_letter(self, store: Store) -> None:
        [key] = seed_effects(store, 1, 1)
        store.claim_effects("w1", now=0.0, lease=10.0)
        letter = DeadLetterRecord("effect", "e-000", key, {"name": "charge"}, ["boom"], 1.0)
        step(store, "e-000", effect_finished=EffectFinish(key, "dead", "boom"),
             dead_letters=[letter])
        [stored] = store.dead_letters()
        assert stored.id is not None
        step(store, "e-000", effects_reopened=[EffectReopen(key, 5.0)],
             dead_letters_deleted=[stored.id])
        [row] = store.effects()
        assert (row.status, row.attempts, row.available_at, row.errors) == (
            "pending", 0, 5.0, ["boom"])
        assert store.dead_letters() == []
        again = advance(store.load("e-000"), dead_letters_deleted=[stored.id])
        assert store.apply([again]) == [again]  # replayed twice: the second is a conflict
        open_again = advance(store.load("e-000"), effects_reopened=[EffectReopen(key, 6.0)])
        assert store.apply([open_again]) == [open_again]  # still open: a conflict
        assert store.integrity_check() == []
