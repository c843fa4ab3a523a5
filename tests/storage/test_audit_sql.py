"""The SQLite audit query: every combination of its terms compiles, and indexes serve them."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import pytest

from statekeeper.storage import SQLiteStore
from statekeeper.storage.audit import AuditFilter, sql_terms
from statekeeper.storage.sqlite._audit import TERMS, audit_sql

FILTERS = ("instance", "chart", "actor", "event", "outcome", "state", "since", "until")


def _plan(conn: sqlite3.Connection, filters: AuditFilter,
          after: tuple[float, int] | None = None) -> list[str]:
    names, params = sql_terms(filters, after, 10)
    rows = conn.execute(f"EXPLAIN QUERY PLAN {audit_sql(names)}", params).fetchall()
    return [str(r[-1]) for r in rows]


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    store = SQLiteStore(tmp_path / "audit.db")
    store.migrate()
    store.close()
    return sqlite3.connect(tmp_path / "audit.db")


def test_every_combination_of_terms_compiles(conn: sqlite3.Connection) -> None:
    values = {"instance": "o-1", "chart": "order", "actor": "a", "event": "e",
              "outcome": "rejected", "state": "s", "since": 1.0, "until": 2.0}
    for count in range(len(FILTERS) + 1):
        for chosen in itertools.combinations(FILTERS, count):
            filters = AuditFilter(**{name: values[name] for name in chosen})
            for after in (None, (1.5, 3)):
                names, params = sql_terms(filters, after, 10)
                assert set(names) <= set(TERMS)
                conn.execute(audit_sql(names), params).fetchall()


@pytest.mark.parametrize(("filters", "index"), [
    (AuditFilter(event="pay"), "transitions_by_event"),
    (AuditFilter(actor="alice"), "transitions_by_actor"),
    (AuditFilter(outcome="rejected"), "transitions_by_outcome"),
    (AuditFilter(since=10.0, until=20.0), "transitions_by_at"),
    (AuditFilter(), "transitions_by_at"),
    (AuditFilter(chart="order"), "transitions_by_at"),
    (AuditFilter(state="paid"), "transitions_by_at"),
    (AuditFilter(chart="order", event="pay"), "transitions_by_event"),
    (AuditFilter(instance="o-1"), "sqlite_autoindex_transitions_1"),
])
@pytest.mark.parametrize("after", [None, (5.0, 7)])
def test_each_filter_is_served_by_an_index(conn: sqlite3.Connection, filters: AuditFilter,
                                           index: str, after: tuple[float, int] | None) -> None:
    plan = _plan(conn, filters, after)
    assert index in plan[0], plan
    assert "SCAN t" not in plan, plan  # never a walk of the whole table in id order
    if filters.instance is None:  # one instance's rows are few: sorting them is fine
        assert not any("TEMP B-TREE" in step for step in plan), plan
