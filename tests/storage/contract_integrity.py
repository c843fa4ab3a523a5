"""The store contract, continued: ``integrity_check`` and rows corrupted behind its back.

Run once per backend by ``test_contract.py``, like :class:`contract.StoreContract`.  The
``corrupt`` fixture (``conftest.py``) writes garbage into a row the way a disk, a bad
migration or a hand edit would; a store must refuse such a row on every read, report it,
and never repair it silently.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from contract import advance, created, seed_effects, seed_timers, step, timer, transition

from statekeeper.storage import (
    Commit,
    DeadLetterRecord,
    IntegrityError,
    MailboxRecord,
    Store,
)
from statekeeper.storage._integrity import done_timer, seq_gap


class IntegrityStoreContract:
    """``integrity_check`` finds what is wrong; a corrupted row is refused, never repaired."""

    def test_integrity_check_of_a_good_store(self, store: Store) -> None:
        seed_timers(store)
        seed_effects(store, 2, 2)
        step(store, "o-1", mailbox=MailboxRecord("o-1", "k", "go", {}, 1.0),
             dead_letters=[DeadLetterRecord("event", "x", "k", {}, [], 1.0)])
        assert store.integrity_check() == []

    @pytest.mark.parametrize(("column", "garbage"), [
        ("snapshot", "{not json"), ("snapshot", "[1, 2]"), ("configuration", '"placed"'),
        ("labels", '{"k": 1}'), ("rev", "seven"), ("status", "paused"), ("updated_at", "noon"),
    ])
    def test_a_corrupted_row_is_refused_never_repaired(self, store: Store, corrupt: Any,
                                                       column: str, garbage: str) -> None:
        created(store, "o-1")
        created(store, "o-2")
        corrupt("o-2", column, garbage)
        with pytest.raises(IntegrityError, match=r"instances.*o-2"):
            store.load("o-2")
        assert store.load("o-1").id == "o-1"
        assert list(store.load_many(["o-1", "o-2"])) == ["o-1"]  # left out: load says why
        # (SQLite's own PRAGMA integrity_check may add a line of its own, e.g. for a CHECK)
        problems = [p for p in store.integrity_check() if not p.startswith("PRAGMA")]
        assert len(problems) == 1 and "instances" in problems[0] and "'o-2'" in problems[0]
        with pytest.raises(IntegrityError):
            store.load("o-2")  # still refused: nothing was repaired

    def test_a_query_over_a_corrupted_row_is_refused(self, store: Store, corrupt: Any) -> None:
        created(store, "o-1", labels={"region": "eu"})
        corrupt("o-1", "labels", "{broken")
        with pytest.raises(IntegrityError):
            store.query(labels={"region": "eu"})
        with pytest.raises(IntegrityError):
            store.query()

    def test_integrity_check_finds_seq_gaps_and_timers_of_finished_instances(
            self, store: Store) -> None:
        rec = created(store, "o-1")
        store.apply([advance(rec, transitions=[transition("o-1", 3)])])
        created(store, "o-2")
        step(store, "o-2", timers_set=[timer("o-2", "t", 5.0)])
        store.apply([Commit(replace(store.load("o-2"), status="done"), 2)])
        # every store words its problems the same way (storage/_integrity.py)
        assert store.integrity_check() == [seq_gap("o-1", 2, 1, 3), done_timer("o-2", "t")]
