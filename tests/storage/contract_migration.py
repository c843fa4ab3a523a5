"""The store contract, continued: a migration's commit (statekeeper.runtime.migrate).

A migration moves an instance to another chart version in one commit that logs a row with
outcome ``migrated`` and changes its timers; every backend must keep that row, refuse a stale
one, and read it back as written (SQLite schema 7 and PostgreSQL schema 4 admit the outcome).
"""

from __future__ import annotations

from dataclasses import replace

from contract import advance, created, transition

from statekeeper.storage import Store, TimerRecord


class MigrationStoreContract:
    """Run once per backend by ``test_contract.py``."""

    def test_a_migration_commit_moves_version_logs_migrated_and_swaps_timers(
            self, store: Store) -> None:
        rec = created(store, "m-1")
        old_timer = TimerRecord("m-1", "statekeeper.after.Old.0", 50.0, {"name": "t"})
        assert store.apply([advance(rec, timers_set=[old_timer])]) == []
        rec = store.load("m-1")
        row = transition("m-1", rec.rev + 1, event="statekeeper.migrate", outcome="migrated",
                         chart_version="2", data={"from_version": "1", "to_version": "2"},
                         actor="ops")
        moved = advance(rec, transitions=[row], timers_cancelled=[old_timer.timer_id],
                        timers_set=[TimerRecord("m-1", "statekeeper.after.New.0", 50.0,
                                                {"name": "u"})])
        moved.instance = replace(moved.instance, version="2", hash="h2")
        stale = advance(rec)
        assert store.apply([moved]) == []
        assert store.apply([stale]) == [stale]  # planned on v1: refused, never applied
        got = store.load("m-1")
        assert (got.version, got.hash, got.rev) == ("2", "h2", 3)
        last = store.history("m-1")[-1]
        assert (last.event, last.outcome, last.chart_version, last.actor, last.data) == (
            "statekeeper.migrate", "migrated", "2", "ops", {"from_version": "1",
                                                            "to_version": "2"})
        assert [t.timer_id for t in store.timers("m-1")] == ["statekeeper.after.New.0"]
        assert store.integrity_check() == []
