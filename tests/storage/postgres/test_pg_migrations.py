"""The PostgreSQL schema: migrated from empty, under an advisory lock, refused when foreign or newer."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from typing import Any

import pytest

psycopg = pytest.importorskip("psycopg", reason="PostgreSQL tests need the postgres extra")

from statekeeper.storage import ForeignDatabase, SchemaTooNew, StoreError  # noqa: E402
from statekeeper.storage._sql import Migration  # noqa: E402
from statekeeper.storage.postgres import (  # noqa: E402
    SCHEMA_VERSION,
    ForeignSchema,
    PostgresPool,
    connect,
    migrate,
    migration_lock_key,
    parse_postgres_url,
)
from statekeeper.storage.postgres._schema import (  # noqa: E402
    MIGRATIONS,
    QUERIES,
    STATEKEEPER_TABLES,
    apply_migrations,
)

pytestmark = pytest.mark.postgres


def _tables(raw: Any, schema: str) -> set[str]:
    return {row[0] for row in raw.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))}


def _versions(raw: Any) -> list[tuple[int, str]]:
    return [tuple(row) for row in raw.execute("SELECT version, name FROM schema_version "
                                              "ORDER BY version")]


def test_migrates_an_empty_schema_once(pg_url: str, pg_schema: str, raw_pg: Any) -> None:
    assert migrate(pg_url) == list(range(1, SCHEMA_VERSION + 1))
    assert _tables(raw_pg, pg_schema) == set(STATEKEEPER_TABLES)
    assert {"instances", "transitions", "mailbox", "outbox", "timers", "dead_letters",
            "policy_state", "schema_version"} <= STATEKEEPER_TABLES
    assert _tables(raw_pg, "public").isdisjoint({"instances", "outbox"})
    assert _versions(raw_pg) == [(m.version, m.name) for m in MIGRATIONS]
    assert migrate(pg_url) == []  # up to date: nothing applied, nothing refused
    assert _versions(raw_pg) == [(m.version, m.name) for m in MIGRATIONS]


def test_the_schema_is_created_when_missing(pg_url: str, pg_schema: str, raw_pg: Any) -> None:
    raw_pg.execute(f"DROP SCHEMA {pg_schema}")
    assert migrate(pg_url) == list(range(1, SCHEMA_VERSION + 1))
    assert "instances" in _tables(raw_pg, pg_schema)


def test_the_columns_are_postgresql_shaped(pg_url: str, pg_schema: str, raw_pg: Any) -> None:
    migrate(pg_url)
    types = {(t, c): d for t, c, d in raw_pg.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = %s", (pg_schema,))}
    for column in [("instances", "snapshot"), ("instances", "configuration"),
                   ("instances", "labels"), ("transitions", "data"),
                   ("transitions", "microsteps"), ("outbox", "args"), ("outbox", "errors"),
                   ("timers", "event"), ("dead_letters", "payload"), ("mailbox", "result"),
                   ("policy_state", "value")]:
        assert types[column] == "jsonb", column
    assert types[("outbox", "at_most_once")] == "boolean"
    for column in [("instances", "created_at"), ("transitions", "at"), ("timers", "due"),
                   ("outbox", "lease_until"), ("outbox", "available_at")]:
        assert types[column] == "double precision", column
    # every table with an instance is keyed by it first (issue 16, item 7)
    keys = dict(raw_pg.execute(
        "SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint AS c "
        "JOIN pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "WHERE c.contype = 'p' AND c.connamespace = %s::regnamespace", (pg_schema,)))
    for table in ("instances", "transitions", "mailbox", "outbox", "timers", "dead_letters"):
        assert keys[table] in ("id", "instance") and (table == "instances") == (keys[table] == "id")


_RACER = """
import sys
from statekeeper.storage.postgres import connect, parse_postgres_url
from statekeeper.storage.postgres._schema import apply_migrations
url, channel = sys.argv[1], sys.argv[2]
settings = parse_postgres_url(url)
conn = connect(settings)
conn.execute("SELECT pg_notify(%s, 'ready')", (channel,))
conn.commit()
print(apply_migrations(conn, settings))
conn.close()
"""


@pytest.mark.slow
def test_two_processes_migrating_at_once_apply_each_version_once(
        postgres_server: str, pg_url: str, pg_schema: str, raw_pg: Any) -> None:
    """Both wait on the advisory lock the test holds, then race; one applies, one finds it done."""
    channel = f"sk_{uuid.uuid4().hex}"
    holder = psycopg.connect(postgres_server, autocommit=True)
    listener = psycopg.connect(postgres_server, autocommit=True)
    racers: list[subprocess.Popen[str]] = []
    try:
        holder.execute("SELECT pg_advisory_lock(%s)", (migration_lock_key(pg_schema),))
        listener.execute(f"LISTEN {channel}")
        racers = [subprocess.Popen([sys.executable, "-c", _RACER, pg_url, channel],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                  for _ in range(2)]
        ready = list(listener.notifies(timeout=120, stop_after=2))
        assert len(ready) == 2, "the migrating processes did not start"
        holder.execute("SELECT pg_advisory_unlock_all()")
        outputs = [racer.communicate(timeout=120) for racer in racers]
    finally:
        for racer in racers:
            if racer.poll() is None:
                racer.kill()
                racer.wait()
        holder.close()
        listener.close()
    assert all(racer.returncode == 0 for racer in racers), outputs
    # each version is one transaction under the lock: the two may share the versions out
    # (one applies 1, the other 2), but together they apply each exactly once, in order
    applied = [json.loads(out) for out, _ in outputs]
    assert sorted(v for versions in applied for v in versions) == list(
        range(1, SCHEMA_VERSION + 1))
    assert all(versions == sorted(versions) for versions in applied)
    assert _versions(raw_pg) == [(m.version, m.name) for m in MIGRATIONS]


def test_a_newer_schema_is_refused_and_left_alone(pg_url: str, raw_pg: Any) -> None:
    migrate(pg_url)
    raw_pg.execute("INSERT INTO schema_version (version, name) VALUES (%s, 'from_the_future')",
                   (SCHEMA_VERSION + 1,))
    with pytest.raises(SchemaTooNew, match=rf"version {SCHEMA_VERSION + 1}.*newer statekeeper"):
        migrate(pg_url)
    assert _versions(raw_pg)[-1] == (SCHEMA_VERSION + 1, "from_the_future")


def test_another_programs_tables_are_refused_unless_allowed(pg_url: str, pg_schema: str,
                                                            raw_pg: Any) -> None:
    raw_pg.execute("CREATE TABLE invoices (id int PRIMARY KEY)")
    raw_pg.execute("INSERT INTO invoices VALUES (7)")
    with pytest.raises(ForeignSchema, match=r"invoices.*allow_foreign_tables=1") as info:
        migrate(pg_url)
    assert isinstance(info.value, ForeignDatabase) and info.value.tables == ("invoices",)
    assert _tables(raw_pg, pg_schema) == {"invoices"}  # nothing was created
    assert migrate(pg_url + "&allow_foreign_tables=1") == list(
        range(1, SCHEMA_VERSION + 1))
    assert raw_pg.execute("SELECT id FROM invoices").fetchall() == [(7,)]


def test_a_failing_migration_rolls_back_whole(pg_url: str, pg_schema: str, raw_pg: Any) -> None:
    settings = parse_postgres_url(pg_url)
    broken = Migration(len(MIGRATIONS) + 1, "broken",
                       "CREATE TABLE half_done (a int);\nSELECT 1 / 0;\n")
    conn = connect(settings)
    try:
        with pytest.raises(StoreError, match=r"failed \(division by zero\).*rolled back"):
            apply_migrations(conn, settings, [*MIGRATIONS, broken])
    finally:
        conn.close()
    assert "half_done" not in _tables(raw_pg, pg_schema)
    assert _versions(raw_pg) == [(m.version, m.name) for m in MIGRATIONS]


def _index_names(plan: Any) -> set[str]:
    found = set()
    if isinstance(plan, dict):
        if "Index Name" in plan:
            found.add(plan["Index Name"])
        for value in plan.values():
            found |= _index_names(value)
    elif isinstance(plan, list):
        for value in plan:
            found |= _index_names(value)
    return found


def test_query_by_state_is_served_by_the_gin_index(pg_url: str, raw_pg: Any) -> None:
    migrate(pg_url)
    raw_pg.execute(
        "INSERT INTO instances (id, chart, version, hash, snapshot, configuration, status, "
        "rev, labels, created_at, updated_at) "
        "SELECT 'i-' || g, 'order', '1', 'h', '{}', jsonb_build_array('root', 's' || (g % 100)),"
        " 'active', 1, '{}', 0, 0 FROM generate_series(1, 1000) AS g")
    raw_pg.execute("ANALYZE instances")
    raw_pg.execute("SET enable_seqscan = off")
    query = QUERIES["instances_in_state"]
    plan = raw_pg.execute("EXPLAIN (FORMAT JSON) " + query, {"state": "s7"}).fetchone()[0]
    assert "instances_by_state" in _index_names(plan), json.dumps(plan, indent=1)
    found = [row[0] for row in raw_pg.execute(query, {"state": "s7"})]
    assert found == sorted(f"i-{g}" for g in range(1, 1001) if g % 100 == 7)


def test_each_pooled_connection_works_in_the_urls_schema(pg_url: str, pg_schema: str) -> None:
    migrate(pg_url)
    with PostgresPool(pg_url + "&pool_min=2&pool_max=2") as pool, \
            pool.connection() as a, pool.connection() as b:
        for conn in (a, b):
            assert conn.execute("SELECT current_schema()").fetchone() == (pg_schema,)
            assert conn.execute("SELECT count(*) FROM instances").fetchone() == (0,)


def test_the_stores_own_query_by_state_uses_the_gin_index(pg_url: str, raw_pg: Any) -> None:
    """The store's query, not a sample one: its "or malformed" branch must not hide the index.

    With ``configuration @> [...] OR jsonb_typeof(...) <> 'array'`` in one WHERE, the planner
    walked the primary key and filtered every row (20,000 here) instead.
    """
    from statekeeper.storage.postgres._schema import QUERIES as STORE_QUERIES

    migrate(pg_url)
    raw_pg.execute(
        "INSERT INTO instances (id, chart, version, hash, snapshot, configuration, status, "
        "rev, labels, created_at, updated_at) "
        "SELECT 'i-' || g, 'order', '1', 'h', '{}', jsonb_build_array('root', 's' || (g % 400)),"
        " 'active', 1, '{}', 0, 0 FROM generate_series(1, 20000) AS g")
    raw_pg.execute("ANALYZE instances")
    params = {"state": "s7", "after": None, "chart": None, "status": None, "labels": None,
              "limit": 100}
    query = STORE_QUERIES["query_state_instances"]
    plan = raw_pg.execute("EXPLAIN (FORMAT JSON) " + query, params).fetchone()[0]
    assert "instances_by_state" in _index_names(plan), json.dumps(plan, indent=1)
    found = [row[0] for row in raw_pg.execute(query, params)]
    assert found == sorted(f"i-{g}" for g in range(1, 20001) if g % 400 == 7)[:100]


def test_a_table_named_like_ours_in_an_unversioned_schema_is_foreign(pg_url: str,
                                                                     raw_pg: Any) -> None:

    raw_pg.execute("CREATE TABLE instances (sku text, qty int)")
    with pytest.raises(ForeignSchema):
        migrate(pg_url)
    tables = [r[0] for r in raw_pg.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
    assert tables == ["instances"]
