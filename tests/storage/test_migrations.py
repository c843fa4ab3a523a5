"""Schema versions: a fresh schema equals every migration applied in order, and no surprises.

PostgreSQL gets the same three tests when its backend lands.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from contract import created

from statekeeper.storage import Commit, SchemaTooNew, SQLiteStore, TimerRecord
from statekeeper.storage._sql import load_migrations, parse_queries
from statekeeper.storage.audit import AuditFilter
from statekeeper.storage.sqlite import SCHEMA_VERSION
from statekeeper.storage.sqlite._schema import MIGRATIONS, QUERIES, split_statements

Schema = list[tuple[str, str, str, str | None]]


def _schema(path: Path | str) -> Schema:
    raw = sqlite3.connect(path)
    try:
        return raw.execute("SELECT type, name, tbl_name, sql FROM sqlite_master "
                           "ORDER BY type, name").fetchall()
    finally:
        raw.close()


def _versions(path: Path | str) -> list[tuple[int, str]]:
    raw = sqlite3.connect(path)
    try:
        return raw.execute("SELECT version, name FROM schema_version ORDER BY version").fetchall()
    finally:
        raw.close()


def test_a_fresh_schema_equals_all_migrations_applied_in_order(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "migrated.db")
    store.migrate()
    store.close()
    by_hand = tmp_path / "by_hand.db"
    raw = sqlite3.connect(by_hand)
    for migration in MIGRATIONS:  # each file as written, with sqlite3's own script runner
        raw.executescript(migration.sql)
        raw.execute("INSERT INTO schema_version VALUES (?, ?)", (migration.version, migration.name))
        raw.commit()
    raw.close()
    assert _schema(tmp_path / "migrated.db") == _schema(by_hand)
    assert _versions(tmp_path / "migrated.db") == [(m.version, m.name) for m in MIGRATIONS]
    assert SCHEMA_VERSION == MIGRATIONS[-1].version == len(MIGRATIONS)


def test_migrate_is_idempotent_and_keeps_data(sqlite_store: SQLiteStore) -> None:
    before = _schema(sqlite_store.path)
    created(sqlite_store, "o-1")
    sqlite_store.migrate()
    again = SQLiteStore(sqlite_store.path)
    again.migrate()
    again.close()
    assert _schema(sqlite_store.path) == before
    assert _versions(sqlite_store.path) == [(m.version, m.name) for m in MIGRATIONS]
    assert sqlite_store.load("o-1").rev == 1


def test_concurrent_first_migrations_apply_each_version_once(sqlite_path: Path) -> None:
    stores = [SQLiteStore(sqlite_path) for _ in range(3)]
    barrier = threading.Barrier(len(stores))
    failures: list[BaseException] = []

    def migrate(store: SQLiteStore) -> None:
        try:
            barrier.wait(timeout=30)
            store.migrate()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=migrate, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for s in stores:
        s.close()
    assert not failures
    assert _versions(sqlite_path) == [(m.version, m.name) for m in MIGRATIONS]


def test_a_newer_schema_is_refused_and_left_alone(sqlite_store: SQLiteStore) -> None:
    raw = sqlite3.connect(sqlite_store.path)
    with raw:
        raw.execute("INSERT INTO schema_version VALUES (?, 'from_the_future')",
                    (SCHEMA_VERSION + 1,))
    raw.close()
    before = _schema(sqlite_store.path)
    with pytest.raises(SchemaTooNew, match=f"version {SCHEMA_VERSION + 1}.*newer statekeeper"):
        SQLiteStore(sqlite_store.path)
    with pytest.raises(SchemaTooNew):
        sqlite_store.migrate()  # a store opened before the upgrade refuses too
    assert _schema(sqlite_store.path) == before


def test_migrations_are_numbered_without_gaps() -> None:
    found = load_migrations("statekeeper.storage.sqlite")
    assert [m.version for m in found] == list(range(1, len(found) + 1))
    assert found[0].name == "init"


def _explain(conn: sqlite3.Connection, sql: str) -> None:
    """Compile ``sql`` against the schema without running it, binding NULL to every parameter."""
    names = set(re.findall(r":([a-z_]+)", sql))
    if names:
        conn.execute(f"EXPLAIN {sql}", dict.fromkeys(names))
        return
    for count in range(20):
        try:
            conn.execute(f"EXPLAIN {sql}", (None,) * count)
            return
        except sqlite3.ProgrammingError as exc:
            if "bindings" not in str(exc):
                raise
    raise AssertionError(f"could not bind the parameters of {sql!r}")


def test_every_named_query_compiles_against_the_schema(sqlite_store: SQLiteStore) -> None:
    conn = sqlite3.connect(sqlite_store.path)
    try:
        for sql in QUERIES.values():
            _explain(conn, sql)
    finally:
        conn.close()


def test_split_statements() -> None:
    script = "-- a; comment\nCREATE TABLE a (x TEXT DEFAULT ';');\n\nCREATE INDEX i ON a (x);\n-- end\n"
    assert split_statements(script) == ["-- a; comment\nCREATE TABLE a (x TEXT DEFAULT ';');",
                                        "CREATE INDEX i ON a (x);"]
    with pytest.raises(ValueError, match="incomplete"):
        split_statements("CREATE TABLE b (x")


@pytest.mark.parametrize(("text", "error"), [
    ("SELECT 1;", "before the first"),
    ("-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;", "defined twice"),
    ("-- name: a\n-- only a comment\n", "without SQL"),
])
def test_query_files_are_checked(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse_queries(text)


def test_named_queries_parse() -> None:
    assert parse_queries("-- header\n\n-- name: one\n-- doc\nSELECT 1\nFROM t;\n-- name: two\n"
                         "SELECT 2;") == {"one": "SELECT 1\nFROM t", "two": "SELECT 2"}


def _timers_at_version(path: Path, version: int,
                       timers: list[tuple[str, float, str]]) -> Path:
    """A file as statekeeper left it at schema ``version``: instance ``o-1`` with ``timers``
    (id, due, policy), written with that version's columns."""
    raw = sqlite3.connect(path)
    for migration in MIGRATIONS[:version]:
        raw.executescript(migration.sql)
        raw.execute("INSERT INTO schema_version VALUES (?, ?)", (migration.version, migration.name))
    raw.execute("INSERT INTO instances VALUES ('o-1', 'c', '1', 'h', '{}', '[\"a\"]', 'active', 1, "
                "'{}', 0.0, 0.0)")
    if timers:
        raw.executemany("INSERT INTO timers VALUES ('o-1', ?, ?, '{\"name\":\"t\"}', NULL, ?)",
                        timers)
    raw.commit()
    raw.close()
    return path


def test_version_3_keeps_timers_and_lets_unstated_ones_follow_the_worker(tmp_path: Path) -> None:
    """Rows written before version 3 said ``fire_late`` for every timer not stating ``skip``;
    they become ``default``, so they behave as they did (the worker's policy applies)."""
    path = _timers_at_version(tmp_path / "v2.db", 2, [("t1", 5.0, "fire_late"),
                                                       ("t2", 7.0, "skip")])
    store = SQLiteStore(path)
    try:
        store.migrate()
        assert [(t.timer_id, t.due, t.policy) for t in store.timers("o-1")] == [
            ("t1", 5.0, "default"), ("t2", 7.0, "skip")]
        assert [t.timer_id for t in store.due_timers(10.0)] == ["t1", "t2"]
        assert store.integrity_check() == []
    finally:
        store.close()
    assert _versions(path)[-1][0] >= 3


def test_version_4_keeps_timers_and_orders_new_ones_as_they_were_set(tmp_path: Path) -> None:
    """Rows written before version 4 have no place in the setting order (0, 0): among
    themselves they stay in id order, as before; timers set afterwards follow their order."""
    path = _timers_at_version(tmp_path / "v3.db", 3, [("t2", 5.0, "default"),
                                                       ("t1", 5.0, "skip")])
    store = SQLiteStore(path)
    try:
        store.migrate()
        assert [t.timer_id for t in store.due_timers(10.0)] == ["t1", "t2"]
        rec = store.load("o-1")
        later = [TimerRecord("o-1", "z", 5.0, {"name": "z"}),
                 TimerRecord("o-1", "b", 5.0, {"name": "b"})]
        assert store.apply([Commit(replace(rec, rev=2), 1, timers_set=later)]) == []
        assert [t.timer_id for t in store.due_timers(10.0)] == ["t1", "t2", "z", "b"]
        assert store.integrity_check() == []
    finally:
        store.close()
    assert _versions(path)[-1][0] >= 4


_ROWS_V4 = {
    "transitions": [
        (7, "o-1", 1, "go", '["a"]', '["b"]', "1", "applied", 1.0, "null", "ann", "t-1", None,
         "k-1", "[]"),
        (9, "o-1", 2, "stop", '["b"]', '["b"]', "1", "rejected", 2.0, "{}", None, None,
         "not accepted", None, "[]"),
    ],
    "outbox": [(4, "o-1:1:0", "o-1", "pay", "{}", "failed", 2, 3.0, "w-1", 4.0, 1, "boom",
                '["boom"]', 1.0)],
    "timers": [("o-1", "t1", 5.0, '{"name":"t"}', None, "fire_late", 2, 1)],
}


def _with_traceparent(table: str, row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A version 4 row as the latest schema holds it: version 10 adds a NULL traceparent."""
    if table == "outbox":
        return (*row, None)
    if table == "timers":  # before set_rev and position
        return (*row[:6], None, *row[6:])
    return row


def test_version_5_keeps_every_row_and_id_and_still_refuses_bad_values(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The tables rebuilt for comparison-form CHECKs keep their rows, ids included, and the
    constraints admit exactly the values they did before."""
    path = _timers_at_version(tmp_path / "v4.db", 4, [])
    raw = sqlite3.connect(path)
    for table, rows in _ROWS_V4.items():
        raw.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})", rows)
    raw.commit()
    raw.close()
    store = SQLiteStore(path)
    try:
        with caplog.at_level(logging.INFO, logger="statekeeper.storage"):
            store.migrate()
        assert store.integrity_check() == []
    finally:
        store.close()
    messages = [r.getMessage().split(": ", 1)[1] for r in caplog.records]
    assert messages[0] == "upgrading the schema to version 5 (checks_without_in_lists)"
    assert messages[1].startswith("schema version 5 applied in ")
    raw = sqlite3.connect(path)
    try:
        for table, rows in _ROWS_V4.items():
            assert raw.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall() == [
                _with_traceparent(table, row) for row in rows]
        bad = [("transitions", "outcome", "skipped"), ("outbox", "status", "lost"),
               ("timers", "policy", "never")]
        for table, column, value in bad:
            with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
                raw.execute(f"UPDATE {table} SET {column} = ?", (value,))
        raw.execute("UPDATE outbox SET status = 'dead'")  # every listed value still passes
        raw.execute("UPDATE timers SET policy = 'skip'")
        raw.execute("UPDATE transitions SET outcome = 'ignored'")
    finally:
        raw.close()
    assert _versions(path)[-1][0] >= 5


def test_no_check_constraint_lists_three_values(sqlite_store: SQLiteStore) -> None:
    """``CHECK (x IN ('a', 'b', 'c'))`` makes SQLite build a temporary index for every row
    written (two values compile to comparisons); version 5 rewrote them as ``OR``s."""
    for (sql,) in sqlite3.connect(sqlite_store.path).execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table'"):
        for listed in re.findall(r"CHECK\s*\([^()]*\bIN\s*\(([^)]*)\)", sql, re.IGNORECASE):
            assert listed.count(",") < 2, f"a CHECK lists {listed} in: {sql}"


def test_version_8_keeps_the_log_with_its_ids_and_indexes_the_audit_filters(
        tmp_path: Path) -> None:
    """Version 8 rebuilds the log to admit 'denied' (reserved for authorization): every row
    and id is kept, the old outcomes still pass, and the audit indexes exist."""
    path = _timers_at_version(tmp_path / "v7.db", 7, [])
    rows = [*_ROWS_V4["transitions"],
            (12, "o-1", 3, "statekeeper.migrate", '["b"]', '["c"]', "2", "migrated", 3.0,
             "{}", "ops", None, None, None, "[]")]
    raw = sqlite3.connect(path)
    raw.executemany(f"INSERT INTO transitions VALUES ({', '.join('?' * 15)})", rows)
    raw.execute("UPDATE instances SET rev = 3")
    raw.commit()
    raw.close()
    store = SQLiteStore(path)
    try:
        store.migrate()
        assert store.integrity_check() == []
        assert [(r.id, r.seq, r.outcome) for r in store.audit(AuditFilter())] == [
            (7, 1, "applied"), (9, 2, "rejected"), (12, 3, "migrated")]
    finally:
        store.close()
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("SELECT * FROM transitions ORDER BY id").fetchall() == rows
        raw.execute("UPDATE transitions SET outcome = 'denied' WHERE id = 9")
        with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
            raw.execute("UPDATE transitions SET outcome = 'forbidden' WHERE id = 9")
        indexes = {name for (name,) in raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'transitions'")}
        assert {"transitions_by_at", "transitions_by_event", "transitions_by_actor",
                "transitions_by_outcome"} <= indexes
    finally:
        raw.close()
    assert _versions(path)[-1][0] >= 8
