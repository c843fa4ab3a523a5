"""The tables' descriptions against the PostgreSQL schema, its queries and its parameters.

The PostgreSQL store reads and builds rows by name through its adapter, as the SQLite store
does (``tests/storage/test_tables.py``): each ``SELECT`` of a whole row returns the columns of
its table's description (:mod:`statekeeper.storage.tables`), named as there and typed as the
table holds them (``jsonb`` parsed by psycopg, ``boolean`` as ``bool``), for the decoders of
the PostgreSQL adapter; each insert takes a row as the encoder writes it.  A column added to
the schema and not to the description, or read with a cast, fails here by name.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

psycopg = pytest.importorskip("psycopg", reason="PostgreSQL tests need the postgres extra")

from test_tables import INSERTS, inserted  # noqa: E402

from statekeeper.storage import Commit, EffectRecord, InstanceRecord  # noqa: E402
from statekeeper.storage._codec import encode_commit  # noqa: E402
from statekeeper.storage.adapters import POSTGRES  # noqa: E402
from statekeeper.storage.postgres import PostgresStore  # noqa: E402
from statekeeper.storage.postgres._audit import audit_sql  # noqa: E402
from statekeeper.storage.postgres._pool import JsonbLoader  # noqa: E402
from statekeeper.storage.postgres._rows import arrays, update_params  # noqa: E402
from statekeeper.storage.postgres._schema import QUERIES  # noqa: E402
from statekeeper.storage.tables import INSTANCES, OUTBOX, TABLES, TRANSITIONS  # noqa: E402

pytestmark = pytest.mark.postgres

#: what each kind of column is in the PostgreSQL schema
PG_TYPES = {"text": {"text"}, "int": {"bigint", "integer"}, "real": {"double precision"},
            "json": {"jsonb"}, "bool": {"boolean"}}
#: what psycopg names the type of a column it returns, by kind
PG_RESULT_TYPES = {"text": {"text"}, "int": {"int8", "int4"}, "real": {"float8"},
                   "json": {"jsonb"}, "bool": {"bool"}}

#: what a load reads after the described columns: the kept entered_at (InstanceRecord's)
LOADED = {"load_instance": ("entered_at",), "load_instances": ("entered_at",)}
#: every named query that reads whole rows of a table, by the table it reads
ROW_QUERIES = {
    "instances": ["load_instance", "load_instances", "query_instances",
                  "query_state_instances", "all_instances"],
    "transitions": ["history", "all_transitions"],
    "mailbox": ["load_mailbox", "load_mailboxes", "all_mailbox"],
    "outbox": ["claim_effects", "list_effects", "one_outbox", "all_outbox"],
    "timers": ["due_timers", "due_timers_of_charts", "instance_timers", "one_timers",
               "all_timers"],
    "dead_letters": ["list_dead_letters", "instance_dead_letters", "load_dead_letter",
                     "all_dead_letters"],
    "policy_state": ["load_policy_state", "all_policy_state"],
    "shadow_log": ["chart_shadows", "all_shadow_log"],
}
#: the statements writing a group's rows one array per column, by the table they write
ARRAY_INSERTS = {"instances": "insert_instances", "transitions": "insert_transitions"}


@pytest.fixture
def raw(pg_url: str, raw_pg: Any) -> Any:
    store = PostgresStore(pg_url)
    store.migrate()
    store.close()
    return raw_pg


@pytest.mark.parametrize("name", sorted(TABLES))
def test_each_description_is_the_postgres_table(raw: Any, name: str) -> None:
    table = TABLES[name]
    found = {column: (sql_type, nullable == "YES") for column, sql_type, nullable in raw.execute(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s", (name,))}
    described = [*table.columns, *table.write_only, *table.kept]
    assert set(found) == {c.name for c in described}
    for c in described:
        assert found[c.name][0] in PG_TYPES[c.kind], c.name
        assert found[c.name][1] is c.nullable, c.name


def _params(sql: str) -> Any:
    # NULL matches nothing (and LIMIT NULL is no limit); a list of ids is an empty array
    named = re.findall(r"%\(([a-z_]+)\)s", sql)
    if named:
        return dict.fromkeys(named)
    return [[] if part.startswith("::text[]") else None for part in sql.split("%s")[1:]]


@pytest.mark.parametrize(("name", "query"),
                         [(t, q) for t, queries in ROW_QUERIES.items() for q in queries])
def test_queries_read_rows_as_described_and_as_stored(raw: Any, name: str, query: str) -> None:
    # the columns in the described order, by name, each of the type the table holds: no
    # ::text or ::int for the decoders of another backend
    sql = QUERIES[query]
    cursor = raw.execute(sql, _params(sql))
    table = TABLES[name]
    assert tuple(d.name for d in cursor.description) == table.names + LOADED.get(query, ())
    types = {d.name: raw.adapters.types.get(d.type_code).name for d in cursor.description}
    for column in table.columns:
        assert types[column.name] in PG_RESULT_TYPES[column.kind], column.name


def test_audit_queries_read_transitions_as_described_and_as_stored(raw: Any) -> None:
    # the audit query is put together from audit.sql's terms: its rows are read the same way
    sql = audit_sql([])
    cursor = raw.execute(sql, _params(sql))
    assert tuple(d.name for d in cursor.description) == TRANSITIONS.names
    types = {d.name: raw.adapters.types.get(d.type_code).name for d in cursor.description}
    for column in TRANSITIONS.columns:
        assert types[column.name] in PG_RESULT_TYPES[column.kind], column.name


@pytest.mark.parametrize(("name", "query"), sorted(INSERTS.items()))
def test_inserts_take_rows_as_the_encoder_writes_them(name: str, query: str) -> None:
    # the same statements as SQLite's, with the same column lists
    assert inserted(QUERIES[query]) == (name, TABLES[name].written)


@pytest.mark.parametrize(("name", "query"), sorted(ARRAY_INSERTS.items()))
def test_group_inserts_take_one_array_per_column_by_name(name: str, query: str) -> None:
    sql = QUERIES[query]
    assert inserted(sql) == (name, TABLES[name].written)
    assert set(re.findall(r"%\(([a-z_]+)\)s", sql)) == set(TABLES[name].written)


def test_instance_updates_bind_columns_by_name() -> None:
    instance = InstanceRecord("o-1", "order", "2", "h", {"x": 1}, ("a",), labels={"k": "v"},
                              rev=3, created_at=1.0, updated_at=2.0)
    e = encode_commit(Commit(instance, 3), POSTGRES)
    params = update_params(e)
    for query in ("update_instance", "update_instances"):
        assert set(re.findall(r"%\(([a-z_]+)\)s", QUERIES[query])) <= set(params)
    row = dict(zip(INSTANCES.written, e.instance, strict=True))
    assert params == {**row, "expected": 3}
    assert params["rev"] == 4 and params["snapshot"] == '{"x":1}'


def test_group_rows_become_one_list_per_column_by_name() -> None:
    rows = [TRANSITIONS.build(instance=f"o-{i}", seq=i, event="go", source='["a"]',
                              target='["b"]', chart_version="1", outcome="applied", at=1.0,
                              data="null", actor=None, trace_id=None, reason=None,
                              idempotency_key=None, microsteps="[]") for i in (1, 2)]
    got = arrays(TRANSITIONS, rows)
    assert list(got) == list(TRANSITIONS.written)
    assert got["instance"] == ["o-1", "o-2"] and got["seq"] == [1, 2]
    assert got["actor"] == [None, None]
    assert arrays(TRANSITIONS, []) == {name: [] for name in TRANSITIONS.written}


def test_an_effect_is_bound_with_its_flag_as_a_boolean(raw: Any, pg_url: str) -> None:
    # the PostgreSQL adapter binds the neutral bool as it is: boolean, not SQLite's 0/1
    store = PostgresStore(pg_url)
    try:
        instance = InstanceRecord("o-1", "c", "1", "h", {}, ("a",))
        store.apply([Commit(instance, None, effects=[
            EffectRecord("o-1:e", "o-1", "charge", {"n": 1}, at_most_once=True)])])
        [effect] = store.effects("o-1")
        assert effect.at_most_once is True
        row = raw.execute("SELECT at_most_once, args FROM outbox").fetchone()
        assert row == (True, {"n": 1})
        assert OUTBOX.column("at_most_once").kind == "bool"
    finally:
        store.close()


def test_jsonb_is_read_with_the_stores_decoder_on_its_connections_only(pg_url: str) -> None:
    # the pool's connections parse jsonb as every store parses JSON; psycopg's global
    # adapters, which the application may use itself, are left as they were
    store = PostgresStore(pg_url)
    try:
        with store._db.pool.connection() as conn:
            value = conn.execute("""SELECT '{"a": [1, 2.5, "x", null, true]}'::jsonb""").fetchone()
            loader = conn.adapters.get_loader(conn.adapters.types["jsonb"].oid,
                                              psycopg.pq.Format.TEXT)
        assert value == ({"a": [1, 2.5, "x", None, True]},)
        assert loader is JsonbLoader
        assert psycopg.adapters.get_loader(psycopg.adapters.types["jsonb"].oid,
                                           psycopg.pq.Format.TEXT) is not JsonbLoader
    finally:
        store.close()
