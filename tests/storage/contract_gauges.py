"""The store contract, continued: the gauges (instances per state, stuck instances).

The counts are kept by the store with the instance rows; these tests read them back after
real commits, lost commits and groups, and count stuck instances by when each entered its
configuration.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from contract import advance, created, make, transition

from statekeeper.storage import Store
from statekeeper.storage.records import Commit, InstanceRecord


def _live(store: Store) -> dict[tuple[str, str, str], int]:
    """The counts without the states no instance holds any more (kept as 0 by some stores)."""
    return {k: n for k, n in store.state_counts().items() if n}


def _data_only(store: Store, rec: InstanceRecord, at: float) -> InstanceRecord:
    new = replace(rec, snapshot={"data": {"n": rec.rev + 100}}, updated_at=at)
    seq = rec.rev + 1
    assert store.apply([Commit(new, rec.rev, transitions=[transition(
        rec.id, seq, source=rec.configuration, target=rec.configuration, at=at)])]) == []
    return store.load(rec.id)


class GaugeStoreContract:
    """Run once per backend by ``test_contract.py``."""

    def test_counts_follow_every_commit_kind(self, store: Store, second_handle: Store) -> None:
        assert store.state_counts() == {}
        a = created(store, "a", configuration=("cooking", "kitchen", "courier"))
        created(store, "b", configuration=("placed",))
        created(store, "c", configuration=("placed",), chart="door", version="2")
        assert _live(second_handle) == {
            ("door", "2", "placed"): 1, ("order", "1", "cooking"): 1,
            ("order", "1", "courier"): 1, ("order", "1", "kitchen"): 1,
            ("order", "1", "placed"): 1}
        a = _data_only(store, a, 5.0)  # same configuration: no count moves
        assert _live(store)[("order", "1", "kitchen")] == 1
        b = store.load("b")
        moved = replace(b, configuration=("ready", "kitchen"), updated_at=6.0)
        done = replace(a, configuration=("delivered",), status="done", updated_at=6.0)
        assert store.apply([Commit(moved, b.rev, transitions=[transition("b", 2)]),
                            Commit(done, a.rev, transitions=[transition("a", 3)])]) == []
        assert _live(store) == {("door", "2", "placed"): 1, ("order", "1", "kitchen"): 1,
                                ("order", "1", "ready"): 1}
        b = store.load("b")  # a new version (a migration) moves the count to it
        assert store.apply([Commit(replace(b, version="2", updated_at=7.0), b.rev, transitions=[
            transition("b", 3, outcome="migrated", chart_version="2")])]) == []
        assert _live(store) == {("door", "2", "placed"): 1, ("order", "2", "kitchen"): 1,
                                ("order", "2", "ready"): 1}
        assert store.integrity_check() == []

    def test_a_lost_commit_counts_nothing(self, store: Store) -> None:
        a = created(store, "a")
        stale = advance(a)  # built on rev 1
        assert store.apply([advance(a, at=2.0)]) == []
        assert store.apply([stale]) == [stale]
        taken = Commit(make("a", configuration=("elsewhere",)), None,
                       transitions=[transition("a", 1)])
        assert store.apply([taken, Commit(make("n"), None, transitions=[transition("n", 1)])]
                           ) == [taken]
        assert _live(store) == {("order", "1", "s2"): 1, ("order", "1", "placed"): 1}

    def test_a_load_reads_when_the_instance_entered_its_configuration(
            self, store: Store) -> None:
        a = created(store, "a", created_at=10.0, updated_at=10.0)
        assert store.load("a").entered_at == 10.0
        a = _data_only(store, a, 20.0)  # a commit of data only keeps it
        assert (a.entered_at, a.entered, a.updated_at) == (10.0, 10.0, 20.0)
        moved = replace(a, configuration=("ready",), updated_at=30.0)
        assert store.apply([Commit(moved, a.rev, transitions=[
            transition("a", a.rev + 1, target=("ready",), at=30.0)])]) == []
        assert store.load("a").entered_at == 30.0
        assert store.load_many(["a", "gone"])["a"].entered_at == 30.0
        assert replace(moved, entered_at=None).entered == 30.0  # unknown: its last commit

    def test_stuck_counts_instances_by_when_they_entered_their_configuration(
            self, store: Store) -> None:
        created(store, "old", created_at=10.0, updated_at=10.0)
        created(store, "new", created_at=50.0, updated_at=50.0)
        created(store, "door", chart="door", created_at=0.0)
        assert store.stuck_count("order", "placed", 60.0) == 2
        assert store.stuck_count("order", "placed", 50.0) == 1  # strictly before
        assert store.stuck_count("order", "placed", 10.0) == 0
        assert store.stuck_count("order", "paid", 60.0) == 0
        # a data-only commit keeps the date; a new configuration dates from its commit
        _data_only(store, store.load("old"), 55.0)
        assert store.stuck_count("order", "placed", 60.0) == 2
        new = store.load("new")
        moved = replace(new, configuration=("paid",), updated_at=70.0)
        assert store.apply([Commit(moved, new.rev, transitions=[transition("new", 2)])]) == []
        assert store.stuck_count("order", "placed", 100.0) == 1
        assert store.stuck_count("order", "paid", 70.0) == 0
        assert store.stuck_count("order", "paid", 70.5) == 1
        old = store.load("old")  # a finished instance is never stuck
        assert store.apply([Commit(replace(old, status="done", updated_at=80.0), old.rev,
                                   transitions=[transition("old", 3)])]) == []
        assert store.stuck_count("order", "placed", 1000.0) == 0
        assert store.stuck_count("door", "placed", 1.0) == 1

    @pytest.mark.parametrize(("chart", "state", "before"), [
        (None, "placed", 1.0), ("order", 3, 1.0), ("order", "placed", "soon"),
        ("order", "placed", True), ("order", "placed", float("nan"))])
    def test_bad_stuck_arguments_are_refused_alike(self, store: Store, chart: Any, state: Any,
                                                   before: Any) -> None:
        with pytest.raises((TypeError, ValueError), match="stuck_count"):
            store.stuck_count(chart, state, before)
