"""Backend adapters: every record kind round-trips through each, and bad values are refused.

A PostgreSQL store is not needed to check its adapter: a row is encoded for it, stored the way
psycopg hands it back (``jsonb`` parsed to Python values, ``boolean`` as ``bool``), and
decoded; the SQLite adapter the same way with SQLite's values (JSON text, 0/1).
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from statekeeper.storage import (
    Commit,
    DeadLetterRecord,
    EffectRecord,
    InstanceRecord,
    IntegrityError,
    MailboxRecord,
    TimerRecord,
    TransitionRecord,
)
from statekeeper.storage._codec import encode_commit
from statekeeper.storage._decode import RowDecoders
from statekeeper.storage.adapters import POSTGRES, SQLITE, Adapter, row_converter
from statekeeper.storage.tables import TABLES

ADAPTERS = {"sqlite": SQLITE, "postgres": POSTGRES}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.text(max_size=5)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                 max_size=3),
    max_leaves=8)


def _stored(adapter: Adapter, table: str, row: tuple[Any, ...], row_id: int | None = None,
            ) -> tuple[Any, ...]:
    """``row`` as bound for an insert, read back as the backend's driver returns it."""
    described = TABLES[table]
    values = dict(zip(described.written, row, strict=True))
    if described.generated is not None:
        values[described.generated] = row_id
    read = []
    for column in described.columns:
        value = values[column.name]
        if adapter is POSTGRES and column.kind == "json":
            value = json.loads(value)  # psycopg parses jsonb
        read.append(value)
    return tuple(read)


def _commit(data: Any, at_most_once: bool) -> Commit:
    instance = InstanceRecord(id="o-1", chart="order", version="2", hash="h",
                              snapshot={"data": data}, configuration=("a", "b"),
                              labels={"team": "x"}, rev=4, created_at=1.0, updated_at=2.0)
    return Commit(
        instance, 3,
        [TransitionRecord("o-1", 4, "go", ("a",), ("b",), "2", "applied", 2.0, data,
                          actor="ann", microsteps=[{"event": "go"}], id=7)],
        effects=[EffectRecord("e-1", "o-1", "charge", data, at_most_once=at_most_once,
                              errors=["once"], created_at=2.0, id=8)],
        timers_set=[TimerRecord("o-1", "t", 9.0, {"name": "tick", "data": data},
                                policy="fire_late")],
        mailbox=MailboxRecord("o-1", "k", "go", {"state": data}, 2.0, fingerprint="f"),
        dead_letters=[DeadLetterRecord("event", "o-1", "k", {"event": data}, ["boom"], 3.0,
                                       id=9)])


@pytest.mark.parametrize("backend", sorted(ADAPTERS))
@settings(max_examples=40, deadline=None)
@given(data=json_values, at_most_once=st.booleans())
def test_every_record_kind_round_trips(backend: str, data: Any, at_most_once: bool) -> None:
    adapter = ADAPTERS[backend]
    rows = RowDecoders(adapter)
    commit = _commit(data, at_most_once)
    e = encode_commit(commit, adapter)
    assert e.mailbox is not None
    assert rows.instance(_stored(adapter, "instances", e.instance)) == commit.instance
    assert rows.transition(_stored(adapter, "transitions", e.transitions[0], 7)) == \
        commit.transitions[0]
    assert rows.effect(_stored(adapter, "outbox", e.effects[0], 8)) == commit.effects[0]
    # a timer's set_rev and position are written, not read
    assert rows.timer(_stored(adapter, "timers", e.timers_set[0])) == commit.timers_set[0]
    assert rows.mailbox(_stored(adapter, "mailbox", e.mailbox)) == commit.mailbox
    assert rows.dead_letter(_stored(adapter, "dead_letters", e.dead_letters[0], 9)) == \
        commit.dead_letters[0]


def test_booleans_are_bound_as_each_backend_stores_them() -> None:
    effect = EffectRecord("e-1", "o-1", "charge", None, at_most_once=True)
    commit = Commit(InstanceRecord("o-1", "c", "1", "h", {}, ("a",)), 1, effects=[effect])
    at = TABLES["outbox"].written_at("at_most_once")
    assert encode_commit(commit, SQLITE).effects[0][at] == 1
    assert encode_commit(commit, POSTGRES).effects[0][at] is True


def test_the_sqlite_hot_path_converts_nothing() -> None:
    # instance and transition rows are bound as encoded (no per-row call in the writer)
    assert row_converter(SQLITE, "instances") is None
    assert row_converter(SQLITE, "transitions") is None
    convert = row_converter(SQLITE, "outbox")
    assert convert is not None
    row = TABLES["outbox"].build(
        key="e", instance="o", name="n", args="null", status="pending", attempts=0,
        available_at=0.0, lease_owner=None, lease_until=None, at_most_once=False,
        last_error=None, errors="[]", created_at=0.0, traceparent=None)
    assert convert(row)[TABLES["outbox"].written_at("at_most_once")] == 0
    assert all(row_converter(POSTGRES, name) is None for name in TABLES)


def _effect_row(adapter: Adapter, **change: Any) -> tuple[Any, ...]:
    effect = EffectRecord("e-1", "o-1", "charge", {"n": 1})
    commit = Commit(InstanceRecord("o-1", "c", "1", "h", {}, ("a",)), 1, effects=[effect])
    row = list(_stored(adapter, "outbox", encode_commit(commit, adapter).effects[0], 1))
    for name, value in change.items():
        row[TABLES["outbox"].at(name)] = value
    return tuple(row)


@pytest.mark.parametrize(("backend", "column", "value", "problem"), [
    ("sqlite", "at_most_once", True, "at_most_once is True, not one of [0, 1]"),
    ("sqlite", "at_most_once", 2, "at_most_once is 2, not one of [0, 1]"),
    ("sqlite", "args", {"n": 1}, "args is dict, not text"),
    ("sqlite", "args", "{nope", "args is not valid JSON"),
    ("sqlite", "errors", '["a", 1]', "errors is not a JSON list of strings"),
    ("postgres", "at_most_once", 1, "at_most_once is 1, not a boolean"),
    ("postgres", "args", b"\x00", "args is bytes, not JSON"),
    ("postgres", "errors", "[]", "errors is not a JSON list of strings"),
    ("postgres", "status", "lost", "status is 'lost', not one of"),
])
def test_a_bad_stored_value_is_refused_by_name(backend: str, column: str, value: Any,
                                               problem: str) -> None:
    adapter = ADAPTERS[backend]
    row = _effect_row(adapter, **{column: value})
    with pytest.raises(IntegrityError, match=re.escape(f"table 'outbox' (key 'e-1'): {problem}")):
        RowDecoders(adapter).effect(row)


def test_list_parameters() -> None:
    assert SQLITE.list_param(["a", "b"]) == '["a","b"]'
    assert SQLITE.list_param([("i", "k")]) == '[["i","k"]]'
    assert POSTGRES.list_param(["a", "b"]) == ["a", "b"]
    assert POSTGRES.list_param([("i", "k")]) == [["i", "k"]]


def test_which_driver_error_is_a_key_collision() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT NOT NULL)")
    db.execute("INSERT INTO t VALUES ('a', 'x')")
    with pytest.raises(sqlite3.IntegrityError) as taken:
        db.execute("INSERT INTO t VALUES ('a', 'y')")
    with pytest.raises(sqlite3.IntegrityError) as missing:
        db.execute("INSERT INTO t VALUES ('b', NULL)")
    db.close()
    assert SQLITE.is_collision(taken.value)
    assert not SQLITE.is_collision(missing.value)

    class DriverError(Exception):  # what psycopg's errors carry: the SQLSTATE
        def __init__(self, sqlstate: str) -> None:
            super().__init__(sqlstate)
            self.sqlstate = sqlstate

    assert POSTGRES.is_collision(DriverError("23505"))  # unique_violation
    assert not POSTGRES.is_collision(DriverError("23502"))  # not_null_violation
    assert not POSTGRES.is_collision(taken.value)
