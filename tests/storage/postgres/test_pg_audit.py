"""The PostgreSQL audit query: every combination of its terms runs, and indexes serve them."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

psycopg = pytest.importorskip("psycopg", reason="PostgreSQL tests need the postgres extra")

from statekeeper.storage.audit import AuditFilter, sql_terms  # noqa: E402
from statekeeper.storage.postgres import migrate  # noqa: E402
from statekeeper.storage.postgres._audit import TERMS, audit_sql  # noqa: E402

pytestmark = pytest.mark.postgres

FILTERS = ("instance", "chart", "actor", "event", "outcome", "state", "since", "until")


def _index_names(plan: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(plan, dict):
        if "Index Name" in plan:
            found.add(plan["Index Name"])
        for value in plan.values():
            found |= _index_names(value)
    elif isinstance(plan, list):
        for value in plan:
            found |= _index_names(value)
    return found


def test_every_combination_of_terms_runs(pg_url: str, raw_pg: Any) -> None:
    migrate(pg_url)
    values = {"instance": "o-1", "chart": "order", "actor": "a", "event": "e",
              "outcome": "rejected", "state": "s", "since": 1.0, "until": 2.0}
    for count in range(len(FILTERS) + 1):
        for chosen in itertools.combinations(FILTERS, count):
            filters = AuditFilter(**{name: values[name] for name in chosen})
            for after in (None, (1.5, 3)):
                names, params = sql_terms(filters, after, 10)
                assert set(names) <= set(TERMS)
                raw_pg.execute(audit_sql(names), params).fetchall()


@pytest.mark.parametrize(("filters", "index"), [
    (AuditFilter(event="e3"), "transitions_by_event"),
    (AuditFilter(actor="a3"), "transitions_by_actor"),
    (AuditFilter(outcome="rejected"), "transitions_by_outcome"),
    (AuditFilter(since=10.0, until=20.0), "transitions_by_at"),
])
def test_each_filter_is_served_by_an_index(pg_url: str, raw_pg: Any, filters: AuditFilter,
                                           index: str) -> None:
    migrate(pg_url)
    raw_pg.execute(
        "INSERT INTO instances (id, chart, version, hash, snapshot, configuration, status, "
        "rev, labels, created_at, updated_at) "
        "SELECT 'i-' || g, 'order', '1', 'h', '{}', '[\"a\"]', 'active', 20, '{}', 0, 0 "
        "FROM generate_series(1, 500) AS g")
    raw_pg.execute(
        "INSERT INTO transitions (instance, seq, event, source, target, chart_version, outcome,"
        " at, data, actor, microsteps) "
        "SELECT 'i-' || g, s, 'e' || (s % 20), '[\"a\"]', '[\"b\"]', '1', "
        "CASE WHEN g % 97 = 0 THEN 'rejected' ELSE 'applied' END, g * 20 + s, 'null', "
        "CASE WHEN s % 5 = 0 THEN 'a' || (g % 50) END, '[]' "
        "FROM generate_series(1, 500) AS g, generate_series(1, 20) AS s")
    raw_pg.execute("ANALYZE transitions")
    names, params = sql_terms(filters, None, 10)
    plan = raw_pg.execute("EXPLAIN (FORMAT JSON) " + audit_sql(names), params).fetchone()[0]
    assert index in _index_names(plan), json.dumps(plan, indent=1)
