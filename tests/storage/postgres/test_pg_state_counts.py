"""PostgreSQL's state_counts schema version: counts backfilled, kept in shards by writers.

The schema number is named once here (``COUNTS_VERSION``), and once in the migration's file
name.
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from typing import Any

import pytest

psycopg = pytest.importorskip("psycopg", reason="PostgreSQL tests need the postgres extra")

from statekeeper.storage import Commit, InstanceRecord, TransitionRecord  # noqa: E402
from statekeeper.storage.postgres import (  # noqa: E402
    PostgresStore,
    connect,
    parse_postgres_url,
)
from statekeeper.storage.postgres._schema import (  # noqa: E402
    MIGRATIONS,
    QUERIES,
    apply_migrations,
)

pytestmark = pytest.mark.postgres

#: the schema version that adds the counts and entered_at
COUNTS_VERSION = next(m.version for m in MIGRATIONS if m.name.endswith("state_counts"))


def test_existing_instances_are_counted_and_dated_by_their_last_commit(
        pg_url: str, raw_pg: Any) -> None:
    settings = parse_postgres_url(pg_url)
    conn = connect(settings)
    try:
        apply_migrations(conn, settings, MIGRATIONS[:COUNTS_VERSION - 1])
    finally:
        conn.close()
    raw_pg.cursor().executemany(
        "INSERT INTO instances (id, chart, version, hash, snapshot, configuration, status, rev, "
        "labels, created_at, updated_at) VALUES (%s, %s, %s, 'h', '{}', %s, %s, 1, '{}', %s, %s)",
        [("a", "order", "1", '["placed"]', "active", 1.0, 5.0),
         ("b", "order", "1", '["cooking", "kitchen"]', "active", 2.0, 6.0),
         ("d", "order", "1", '["delivered"]', "done", 4.0, 9.0),
         ("f", "door", "1", '{"not": "a list"}', "active", 4.0, 9.0)])
    store = PostgresStore(pg_url)
    try:
        store.migrate()
        assert store.state_counts() == {("order", "1", "cooking"): 1,
                                        ("order", "1", "kitchen"): 1,
                                        ("order", "1", "placed"): 1}
        assert store.stuck_count("order", "placed", 5.0) == 0
        assert store.stuck_count("order", "placed", 5.5) == 1
        # the index pays on many rows, most of them in the state but entered recently: with
        # statistics of such a table the planner takes it (on a handful of rows its choice
        # between this index and instances_by_chart is a coin toss, and changes with the
        # statistics autovacuum happens to have gathered)
        raw_pg.execute(
            "INSERT INTO instances (id, chart, version, hash, snapshot, configuration, status, "
            "rev, labels, created_at, updated_at, entered_at) SELECT 'g' || i, 'order', '1', "
            "'h', '{}', '[\"placed\"]', 'active', 1, '{}', 100 + i, 100 + i, 100 + i "
            "FROM generate_series(1, 20000) AS i")
        raw_pg.execute("ANALYZE instances")
        plan = raw_pg.execute("EXPLAIN (FORMAT JSON) " + QUERIES["stuck_instances"],
                              {"chart": "order", "state": "placed", "before": 1.0}).fetchone()
        assert "instances_by_entered" in json.dumps(plan)
    finally:
        store.close()


def _commit(rec: InstanceRecord, state: str, at: float) -> Commit:
    row = TransitionRecord(instance=rec.id, seq=rec.rev + 1, event="go",
                           source=rec.configuration, target=(state,), chart_version="1",
                           outcome="applied", at=at)
    return Commit(replace(rec, configuration=(state,), updated_at=at), rec.rev,
                  transitions=[row])


def test_many_writers_at_once_keep_exact_counts_in_their_own_shards(
        pg_url: str, raw_pg: Any) -> None:
    """Eight threads, each with its own store (its own connections), move their instances
    through three states in groups at once: the sum is exact, and the writers used several
    shards (none waited on another's count rows)."""
    stores = [PostgresStore(pg_url) for _ in range(8)]
    try:
        stores[0].migrate()
        for w, store in enumerate(stores):
            store.apply([Commit(InstanceRecord(
                id=f"w{w}-{i}", chart="order", version="1", hash="h", snapshot={},
                configuration=("a",)), None, transitions=[TransitionRecord(
                    instance=f"w{w}-{i}", seq=1, event="init", source=(), target=("a",),
                    chart_version="1", outcome="applied", at=0.0)]) for i in range(20)])
        failures: list[BaseException] = []

        def work(store: PostgresStore, w: int) -> None:
            try:
                for n, state in enumerate(("b", "c", "d")):
                    rows = [store.load(f"w{w}-{i}") for i in range(20)]
                    for start in range(0, 20, 5):
                        assert store.apply([_commit(r, state, float(n + 1))
                                            for r in rows[start:start + 5]]) == []
            except BaseException as exc:  # noqa: BLE001 - reported below
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(s, w)) for w, s in enumerate(stores)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        assert {k: n for k, n in stores[3].state_counts().items() if n} == {
            ("order", "1", "d"): 160}
        shards = raw_pg.execute("SELECT count(DISTINCT shard) FROM state_counts").fetchone()[0]
        assert shards >= 2
    finally:
        for store in stores:
            store.close()
