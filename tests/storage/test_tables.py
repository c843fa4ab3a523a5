"""The tables' descriptions against the SQLite schema, its queries and the encoder's rows.

Every module that builds or reads a row takes its column positions from
``statekeeper.storage.tables``; these tests keep that description true to what the SQL
backend really has, so a column added to one and not the other fails here, by name.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from statekeeper.storage import (
    Commit,
    DeadLetterRecord,
    EffectRecord,
    InstanceRecord,
    MailboxRecord,
    SQLiteStore,
    TimerRecord,
    TransitionRecord,
)
from statekeeper.storage._codec import encode_commit
from statekeeper.storage.sqlite._batch import UPDATE_INSTANCE
from statekeeper.storage.sqlite._schema import QUERIES
from statekeeper.storage.tables import (
    INSTANCES,
    MAILBOX_FINGERPRINT,
    TABLES,
    Column,
    Table,
)

SQL_TYPES = {"text": "TEXT", "int": "INTEGER", "real": "REAL", "json": "TEXT", "bool": "INTEGER"}

#: what a load reads after the described columns: the kept entered_at (InstanceRecord's)
LOADED = {"load_instance": ("entered_at",), "load_instances": ("entered_at",)}
#: every named query that reads whole rows of a table, by the table it reads
ROW_QUERIES = {
    "instances": ["load_instance", "load_instances", "query_instances",
                  "query_chart_status_instances", "all_instances"],
    "transitions": ["history", "all_transitions"],
    "mailbox": ["load_mailbox", "load_mailboxes", "all_mailbox"],
    "outbox": ["claim_effects", "list_effects", "all_outbox"],
    "timers": ["due_timers", "due_timers_of_charts", "misfiled_timers", "instance_timers", "all_timers"],
    "dead_letters": ["list_dead_letters", "instance_dead_letters", "load_dead_letter",
                     "all_dead_letters"],
    "policy_state": ["load_policy_state", "all_policy_state"],
    "shadow_log": ["chart_shadows", "all_shadow_log"],
}
#: every named query that inserts a whole row as an encoder writes it
INSERTS = {"instances": "insert_instance", "transitions": "insert_transition",
           "mailbox": "insert_mailbox", "outbox": "insert_effect", "timers": "upsert_timer",
           "dead_letters": "insert_dead_letter", "shadow_log": "insert_shadow"}


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    path = tmp_path / "tables.db"
    SQLiteStore(path).migrate()
    conn = sqlite3.connect(path)
    yield conn
    conn.close()


@pytest.mark.parametrize("name", sorted(TABLES))
def test_each_description_is_the_sqlite_table(db: sqlite3.Connection, name: str) -> None:
    table = TABLES[name]
    found = [(c, t, bool(notnull), bool(pk))
             for _, c, t, notnull, _, pk in db.execute(f"PRAGMA table_info({name})")]
    described = [*table.columns, *table.write_only, *table.kept]
    assert [c for c, *_ in found] == [c.name for c in described]
    for (column, sql_type, notnull, pk), c in zip(found, described, strict=True):
        assert sql_type == SQL_TYPES[c.kind], column
        assert (notnull or pk) is not c.nullable, column
    keys = sorted((pk, c) for _, c, _, _, _, pk in db.execute(f"PRAGMA table_info({name})")
                  if pk)
    assert tuple(c for _, c in keys) == table.key


@pytest.mark.parametrize(("name", "query"),
                         [(t, q) for t, queries in ROW_QUERIES.items() for q in queries])
def test_queries_read_rows_in_the_described_order(db: sqlite3.Connection, name: str,
                                                  query: str) -> None:
    sql = QUERIES[query]
    named = re.findall(r":([a-z_]+)", sql)
    params: Any = (dict.fromkeys(named, None) if named
                   else [1] * sql.count("?"))  # LIMIT takes no NULL
    if query == "load_instances" or query == "load_mailboxes":
        params = ["[]"]
    if "limit" in named:
        params["limit"] = 1
    cursor = db.execute(sql, params)
    assert tuple(d[0] for d in cursor.description) == TABLES[name].names + LOADED.get(query, ())


def inserted(sql: str) -> tuple[str, tuple[str, ...]]:
    """The table and the columns that ``INSERT INTO table (a, b, ...)`` names (any backend)."""
    match = re.search(r"INSERT INTO (\w+) \(([^)]*)\)", sql)
    assert match is not None
    return match.group(1), tuple(c.strip() for c in match.group(2).split(","))


@pytest.mark.parametrize(("name", "query"), sorted(INSERTS.items()))
def test_inserts_take_rows_as_the_encoder_writes_them(name: str, query: str) -> None:
    assert inserted(QUERIES[query]) == (name, TABLES[name].written)


def _set_columns(query: str) -> list[str]:
    match = re.search(r"SET (.*?)\s+WHERE (\w+) = \?", QUERIES[query], re.S)
    assert match is not None
    kept = {c.name for c in INSTANCES.kept}  # set by the statement itself, not bound
    return [*(name for c in match.group(1).split(",")
              if (name := c.split("=")[0].strip()) not in kept), match.group(2)]


def test_instance_updates_bind_columns_by_name() -> None:
    # the batched and the one-by-one writers bind an encoded instance row to update_instance
    # through UPDATE_INSTANCE: the same columns, in the order of the statement's SET clause
    row = tuple(f"<{n}>" for n in INSTANCES.written)
    assert [v.strip("<>") for v in UPDATE_INSTANCE(row)] == _set_columns("update_instance")


def test_the_hot_path_builds_rows_in_the_described_order() -> None:
    # encode_commit builds the instance and transition rows as plain tuples, for speed:
    # read back by column name, each value is the record's field of that name
    instance = InstanceRecord(id="o-1", chart="order", version="2", hash="h",
                              snapshot={"x": 1}, configuration=("a", "b"), labels={"k": "v"},
                              created_at=1.5, updated_at=2.5)
    transition = TransitionRecord("o-1", 4, "go", ("a",), ("b",), "2", "applied", 2.5,
                                  {"d": [1]}, actor="ann", trace_id="t", reason="r",
                                  idempotency_key="key", microsteps=[{"event": "go"}])
    encoded = encode_commit(Commit(instance, 3, [transition]))
    assert dict(zip(INSTANCES.written, encoded.instance, strict=True)) == {
        "id": "o-1", "chart": "order", "version": "2", "hash": "h", "snapshot": '{"x":1}',
        "configuration": '["a","b"]', "status": "active", "rev": 4, "labels": '{"k":"v"}',
        "created_at": 1.5, "updated_at": 2.5}
    assert dict(zip(TABLES["transitions"].written, encoded.transitions[0], strict=True)) == {
        "instance": "o-1", "seq": 4, "event": "go", "source": '["a"]', "target": '["b"]',
        "chart_version": "2", "outcome": "applied", "at": 2.5, "data": '{"d":[1]}',
        "actor": "ann", "trace_id": "t", "reason": "r", "idempotency_key": "key",
        "microsteps": '[{"event":"go"}]'}


def test_the_other_rows_are_built_by_name() -> None:
    instance = InstanceRecord("o-1", "order", "2", "h", {}, ("a",))
    commit = Commit(
        instance, 3,
        effects=[EffectRecord("e", "o-1", "charge", {"n": 1}, at_most_once=True)],
        timers_set=[TimerRecord("o-1", "t", 9.0, {"name": "tick"}, policy="skip")],
        mailbox=MailboxRecord("o-1", "k", "go", {"ok": True}, 2.0, fingerprint="f"),
        dead_letters=[DeadLetterRecord("event", "o-1", "k", {"p": 1}, ["boom"], 3.0)])
    e = encode_commit(commit)
    effect = dict(zip(TABLES["outbox"].written, e.effects[0], strict=True))
    assert (effect["key"], effect["args"], effect["at_most_once"]) == ("e", '{"n":1}', 1)
    timer = dict(zip(TABLES["timers"].written, e.timers_set[0], strict=True))
    assert (timer["timer_id"], timer["policy"], timer["set_rev"], timer["position"]) == (
        "t", "skip", 4, 0)
    assert e.mailbox is not None
    mailbox = dict(zip(TABLES["mailbox"].written, e.mailbox, strict=True))
    assert json.loads(mailbox["result"]) == {"ok": True, MAILBOX_FINGERPRINT: "f"}
    letter = dict(zip(TABLES["dead_letters"].written, e.dead_letters[0], strict=True))
    assert (letter["kind"], letter["errors"]) == ("event", '["boom"]')


def test_a_row_is_built_by_every_column_name_and_no_other() -> None:
    table = TABLES["policy_state"]
    assert table.build(key="k", value="{}", version=1, updated_at=0.0) == ("k", "{}", 1, 0.0)
    with pytest.raises(TypeError):
        table.build(key="k", value="{}", version=1)
    with pytest.raises(TypeError):
        table.build(key="k", value="{}", version=1, updated_at=0.0, extra=1)


def test_positions_come_from_the_description() -> None:
    assert INSTANCES.at("rev") == 7
    assert INSTANCES.positions("id", "status") == (0, 6)
    assert TABLES["outbox"].written_at("key") == 0  # the store assigns the id
    assert TABLES["timers"].written[-2:] == ("set_rev", "position")
    with pytest.raises(KeyError):
        INSTANCES.at("nope")


@pytest.mark.parametrize(("columns", "key", "generated", "problem"), [
    ((Column("a", "text"), Column("a", "int")), ("a",), None, "twice"),
    ((Column("a", "text"),), ("b",), None, "no column 'b'"),
    ((Column("a", "text"), Column("id", "int")), ("id",), "id", "comes first"),
])
def test_a_wrong_description_is_refused(columns: tuple[Column, ...], key: tuple[str, ...],
                                         generated: str | None, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Table("t", columns, key=key, named_by=key, generated=generated)
