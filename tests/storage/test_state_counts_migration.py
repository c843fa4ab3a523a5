"""SQLite's state_counts schema version: counts backfilled, entered_at set and indexed.

The schema number is named once here (``COUNTS_VERSION``), and once in the migration's file
name.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from statekeeper.storage import SQLiteStore
from statekeeper.storage.sqlite._schema import MIGRATIONS, QUERIES

#: the schema version that adds the counts and entered_at
COUNTS_VERSION = next(m.version for m in MIGRATIONS if m.name.endswith("state_counts"))
_ROWS = [  # id, chart, version, configuration, status, created_at, updated_at
    ("a", "order", "1", '["placed"]', "active", 1.0, 5.0),
    ("b", "order", "1", '["cooking", "kitchen", "courier"]', "active", 2.0, 6.0),
    ("c", "order", "2", '["placed"]', "active", 3.0, 3.0),
    ("d", "order", "1", '["delivered"]', "done", 4.0, 9.0),
    ("e", "order", "1", "not json", "active", 4.0, 9.0),
    ("f", "door", "1", '{"not": "a list"}', "active", 4.0, 9.0),
]


def _at_previous_version(path: Path) -> Path:
    raw = sqlite3.connect(path)
    for migration in MIGRATIONS[:COUNTS_VERSION - 1]:
        raw.executescript(migration.sql)
        raw.execute("INSERT INTO schema_version VALUES (?, ?)", (migration.version, migration.name))
    raw.executemany("INSERT INTO instances VALUES (?, ?, ?, 'h', '{}', ?, ?, 1, '{}', ?, ?)", _ROWS)
    raw.commit()
    raw.close()
    return path


def test_existing_instances_are_counted_and_dated_by_their_last_commit(tmp_path: Path) -> None:
    path = _at_previous_version(tmp_path / "before.db")
    store = SQLiteStore(path)
    try:
        store.migrate()
        assert store.state_counts() == {
            ("order", "1", "cooking"): 1, ("order", "1", "courier"): 1,
            ("order", "1", "kitchen"): 1, ("order", "1", "placed"): 1,
            ("order", "2", "placed"): 1}
        # dated by updated_at, the latest they can have entered their configuration
        assert store.stuck_count("order", "placed", 3.0) == 0  # any version of the chart
        assert store.stuck_count("order", "placed", 5.0) == 1
        assert store.stuck_count("order", "placed", 5.5) == 2
        assert store.stuck_count("order", "kitchen", 6.5) == 1
    finally:
        store.close()
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("SELECT max(version) FROM schema_version").fetchone()[0] >= (
            COUNTS_VERSION)
        # rows the triggers cannot read count nowhere, and a write of one fails nothing
        raw.execute("UPDATE instances SET configuration = '[\"placed\"]' WHERE id = 'e'")
        raw.execute("UPDATE instances SET configuration = 'garbage' WHERE id = 'a'")
        raw.execute("DELETE FROM instances WHERE id IN ('a', 'f')")
        assert dict(((c, v, s), n) for c, v, s, n in raw.execute(QUERIES["state_counts"])
                    if n) == {("order", "1", "cooking"): 1, ("order", "1", "courier"): 1,
                              ("order", "1", "kitchen"): 1, ("order", "1", "placed"): 1,
                              ("order", "2", "placed"): 1}
    finally:
        raw.close()


def test_the_stuck_count_reads_old_active_rows_by_their_index(tmp_path: Path) -> None:
    path = tmp_path / "plan.db"
    SQLiteStore(path).migrate()
    raw = sqlite3.connect(path)
    try:
        plan = " ".join(str(row[-1]) for row in raw.execute(
            "EXPLAIN QUERY PLAN " + QUERIES["stuck_instances"],
            {"chart": "order", "state": "placed", "before": 1.0}))
    finally:
        raw.close()
    assert "instances_by_entered" in plan and "<?" in plan, plan
