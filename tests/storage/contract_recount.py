"""The store contract, continued: the kept instance counts recounted, and repaired.

The counts the gauge reads are corrupted behind the store's back (a real SQLite file's
``configuration_counts`` through ``sqlite3``, a real PostgreSQL schema's ``state_counts``
through psycopg, the memory store's dictionary), then recounted from the instance rows.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from typing import Any

import pytest
from contract import created, transition

from statekeeper.storage import Store
from statekeeper.storage.memory import MemoryStore
from statekeeper.storage.records import Commit
from statekeeper.storage.sqlite import SQLiteStore


def _orders(store: Store) -> None:
    created(store, "a", configuration=("cooking", "kitchen"))
    created(store, "b", configuration=("placed",))
    created(store, "c", configuration=("placed",), chart="door", version="2")
    b = store.load("b")
    assert store.apply([Commit(replace(b, configuration=("ready", "kitchen"), updated_at=6.0),
                               b.rev, transitions=[transition("b", 2)])]) == []


def _live(counts: dict[tuple[str, str, str], int]) -> dict[tuple[str, str, str], int]:
    return {k: n for k, n in counts.items() if n}


#: what the three instances of ``_orders`` hold, by hand
COUNTED = {("door", "2", "placed"): 1, ("order", "1", "cooking"): 1,
           ("order", "1", "kitchen"): 2, ("order", "1", "ready"): 1}


def _corrupt(store: Store, request: pytest.FixtureRequest) -> None:
    """Behind the store: kitchen kept 4 (2 in fact), cooking 0 (1), a ghost state 5 (0)."""
    if isinstance(store, MemoryStore):
        counts = store._counts  # the memory store keeps its counts table as a dictionary
        counts[("order", "1", "kitchen")] += 2
        del counts[("order", "1", "cooking")]
        counts[("order", "1", "ghost")] = 5
    elif isinstance(store, SQLiteStore):
        raw = sqlite3.connect(store.path)
        with raw:  # a SQLite file keeps its counts per whole configuration
            raw.execute("DELETE FROM configuration_counts "
                        "WHERE configuration = '[\"cooking\",\"kitchen\"]'")
            raw.execute("INSERT INTO configuration_counts VALUES "
                        "('order', '1', '[\"kitchen\"]', 3), ('order', '1', '[\"ghost\"]', 5)")
        raw.close()
    else:
        pg: Any = request.getfixturevalue("raw_pg")
        with pg.cursor() as cur:  # PostgreSQL keeps them per state, in shards
            cur.execute("DELETE FROM state_counts WHERE state = 'cooking'")
            cur.execute("INSERT INTO state_counts (chart, version, state, shard, count) "
                        "VALUES ('order', '1', 'kitchen', 99, 2), ('order', '1', 'ghost', 0, 5)")


class RecountStoreContract:
    """Run once per backend by ``test_contract.py``."""

    def test_exact_counts_recount_to_nothing(self, store: Store) -> None:
        assert store.recount_states() == {}
        _orders(store)
        assert _live(store.state_counts()) == COUNTED
        assert store.recount_states() == {}
        assert store.recount_states(repair=True) == {}
        assert _live(store.state_counts()) == COUNTED

    def test_corrupted_counts_are_reported_then_repaired(
            self, store: Store, request: pytest.FixtureRequest) -> None:
        _orders(store)
        _corrupt(store, request)
        drift = {("order", "1", "cooking"): (0, 1), ("order", "1", "ghost"): (5, 0),
                 ("order", "1", "kitchen"): (4, 2)}
        assert store.recount_states() == drift
        assert store.recount_states() == drift  # reporting repairs nothing
        assert store.recount_states(repair=True) == drift
        assert _live(store.state_counts()) == COUNTED
        assert store.recount_states() == {}
        # and the kept counts go on from the rebuilt ones
        a = store.load("a")
        assert store.apply([Commit(replace(a, configuration=("placed",), updated_at=9.0),
                                   a.rev, transitions=[transition("a", 2)])]) == []
        assert _live(store.state_counts()) == {
            ("door", "2", "placed"): 1, ("order", "1", "kitchen"): 1,
            ("order", "1", "placed"): 1, ("order", "1", "ready"): 1}
        assert store.recount_states() == {}
