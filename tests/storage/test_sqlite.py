"""What only the SQLite backend has: pragmas, files, locks, processes, raw corruption."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from contract import advance, created, seed_effects, step

from statekeeper.storage import (
    IntegrityError,
    SQLiteStore,
    StoreError,
    StoreUnavailable,
)


def _pragma(store: SQLiteStore, name: str) -> Any:
    return store._db.get().execute(f"PRAGMA {name}").fetchone()[0]


def test_wal_full_sync_and_foreign_keys_by_default(sqlite_store: SQLiteStore) -> None:
    assert _pragma(sqlite_store, "journal_mode") == "wal"
    assert _pragma(sqlite_store, "synchronous") == 2  # FULL
    assert _pragma(sqlite_store, "foreign_keys") == 1


def test_synchronous_is_configurable(sqlite_path: Path) -> None:
    store = SQLiteStore(sqlite_path, synchronous="normal")
    try:
        assert _pragma(store, "synchronous") == 1
    finally:
        store.close()


@pytest.mark.parametrize("kwargs", [{"synchronous": "sometimes"}, {"synchronous": 2},
                                    {"busy_timeout": 0}, {"busy_timeout": "5"},
                                    {"busy_timeout": float("nan")}, {"retries": -1},
                                    {"retries": 1.5}])
def test_bad_settings_are_refused(sqlite_path: Path, kwargs: dict[str, Any]) -> None:
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=name):
        SQLiteStore(sqlite_path, **kwargs)


def test_a_database_in_a_folder_that_does_not_exist_says_so(tmp_path: Path) -> None:
    from statekeeper.storage import StoreUnavailable

    with pytest.raises(StoreUnavailable, match=r"folder .* does not exist"):
        SQLiteStore(tmp_path / "missing" / "orders.db")
    assert not (tmp_path / "missing").exists()  # nothing created on the way


def test_memory_databases_are_refused() -> None:
    with pytest.raises(ValueError, match="MemoryStore"):
        SQLiteStore(":memory:")


def test_an_unreachable_file_is_store_unavailable(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="no-such-dir"):
        SQLiteStore(tmp_path / "no-such-dir" / "x.db")


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are not the pages you are looking for" * 100)
    with pytest.raises(IntegrityError, match="not a database"):
        SQLiteStore(path)


def test_a_database_without_the_schema_says_to_migrate(sqlite_path: Path) -> None:
    store = SQLiteStore(sqlite_path)
    try:
        with pytest.raises(StoreError, match=r"migrate\(\)"):
            store.load("o-1")
    finally:
        store.close()


def test_a_locked_database_is_retried_then_store_unavailable(sqlite_store: SQLiteStore) -> None:
    rec = created(sqlite_store, "o-1")
    impatient = SQLiteStore(sqlite_store.path, busy_timeout=0.3, retries=2)
    holder = sqlite3.connect(sqlite_store.path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process holding the write lock
        with pytest.raises(StoreUnavailable, match="stayed locked"):
            impatient.apply([advance(rec)])
        assert impatient.load("o-1").rev == 1  # WAL: readers are not blocked by the writer
        holder.execute("ROLLBACK")
        assert impatient.apply([advance(rec)]) == []
    finally:
        holder.close()
        impatient.close()


def test_rows_of_unknown_instances_are_reported(sqlite_store: SQLiteStore) -> None:
    created(sqlite_store, "o-1")
    raw = sqlite3.connect(sqlite_store.path)  # foreign keys are off by default here
    with raw:
        raw.execute("INSERT INTO timers (instance, timer_id, due, event, target, policy) "
                    "VALUES ('ghost', 't', 1.0, '{}', NULL, 'skip')")
    raw.close()
    assert sqlite_store.integrity_check() == ["timers rows of unknown instance 'ghost'"]


def test_threads_write_concurrently_through_their_own_connections(
        sqlite_store: SQLiteStore) -> None:
    for i in range(4):
        created(sqlite_store, f"t-{i}")
    failures: list[BaseException] = []

    def writer(iid: str) -> None:
        try:
            for _ in range(10):
                step(sqlite_store, iid)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(f"t-{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not failures
    assert [sqlite_store.load(f"t-{i}").rev for i in range(4)] == [11] * 4
    assert sqlite_store.integrity_check() == []
    # the finished threads' connections are closed once another thread connects
    reader = threading.Thread(target=sqlite_store.load, args=("t-0",))
    reader.start()
    reader.join(timeout=60)
    assert len(sqlite_store._db._open) == 2  # the main thread's and the reader's


def test_a_thread_that_ended_leaves_its_connection_to_the_next(
        sqlite_store: SQLiteStore) -> None:
    # Effects run on short-lived threads: opening a connection (and its PRAGMAs) for each one
    # cost more than the effect's own reads and writes.
    created(sqlite_store, "t-0")
    opened = sqlite_store._db.opened
    for _ in range(30):
        reader = threading.Thread(target=sqlite_store.load, args=("t-0",))
        reader.start()
        reader.join(timeout=60)
    assert sqlite_store._db.opened - opened <= 1
    assert len(sqlite_store._db._open) <= 2
    assert sqlite_store.load("t-0").id == "t-0"


def _claim_in_process(path: str, owner: str, barrier: Any, out: str) -> None:
    store = SQLiteStore(path)
    try:
        keys: list[str] = []
        barrier.wait(60)
        while batch := store.claim_effects(owner, now=1.0, lease=600.0, limit=3):
            keys += [e.key for e in batch]
        Path(out).write_text(json.dumps(keys))
    finally:
        store.close()


@pytest.mark.slow
def test_two_processes_claim_each_effect_exactly_once(sqlite_store: SQLiteStore,
                                                      tmp_path: Path) -> None:
    keys = seed_effects(sqlite_store, instances=5, per_instance=40)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    outs = [tmp_path / f"claimed-{n}.json" for n in range(2)]
    procs = [ctx.Process(target=_claim_in_process,
                         args=(sqlite_store.path, f"p{n}", barrier, str(outs[n])))
             for n in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0]
    got = [json.loads(o.read_text()) for o in outs]
    claimed = got[0] + got[1]
    assert len(claimed) == len(set(claimed)) and sorted(claimed) == sorted(keys)
    owners = {e.key: e.lease_owner for e in sqlite_store.effects()}
    assert all(owners[k] == f"p{n}" for n in range(2) for k in got[n])
    assert {e.attempts for e in sqlite_store.effects()} == {1}


def test_a_corrupted_policy_state_row_is_refused_and_reported(sqlite_store: SQLiteStore) -> None:
    import sqlite3 as raw_sqlite

    from statekeeper.storage import IntegrityError

    assert sqlite_store.put_policy_state("rate:charge", {"tokens": 1.0, "updated_at": 0.0},
                                         expected_version=None, now=0.0)
    raw = raw_sqlite.connect(sqlite_store.path)
    with raw:
        raw.execute("UPDATE policy_state SET value = '{not json' WHERE key = 'rate:charge'")
    raw.close()
    with pytest.raises(IntegrityError, match=r"policy_state.*rate:charge"):
        sqlite_store.policy_state("rate:charge")
    assert any("policy_state" in p for p in sqlite_store.integrity_check())
