"""Queries agree across backends on generated populations and filters (Hypothesis).

The memory store filters in Python, the obvious way; SQLite picks one of several SQL queries
and, for a chart without a status, merges two of them.  Whatever the population and filters,
both must return the same instances in the same order, and paging with ``after`` must walk
exactly the unpaged result.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from contract import created
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statekeeper.storage import MemoryStore, SQLiteStore

STATES = ("a", "b", "c")
instances = st.dictionaries(
    st.text("xyz0", min_size=1, max_size=3),
    st.fixed_dictionaries({
        "chart": st.sampled_from(["one", "two"]),
        "status": st.sampled_from(["active", "done"]),
        "configuration": st.lists(st.sampled_from(STATES), min_size=1, max_size=2, unique=True)
        .map(tuple),
        "labels": st.dictionaries(st.sampled_from(["k", "m"]), st.sampled_from(["1", "2"]),
                                  max_size=2),
    }),
    max_size=12,
)
filters = st.fixed_dictionaries({}, optional={
    "chart": st.sampled_from(["one", "two", "none"]),
    "state": st.sampled_from([*STATES, "z"]),
    "status": st.sampled_from(["active", "done"]),
    "labels": st.dictionaries(st.sampled_from(["k", "m"]), st.sampled_from(["1", "2"]),
                              min_size=1, max_size=2),
    "limit": st.integers(1, 5),
    "after": st.text("xyz0", min_size=1, max_size=3),
})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(population=instances, queries=st.lists(filters, min_size=1, max_size=6))
def test_memory_and_sqlite_answer_every_query_alike(population: dict[str, dict[str, Any]],
                                                    queries: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = SQLiteStore(Path(tmp) / "q.db")
        memory = MemoryStore()
        try:
            for store in (memory, sqlite):
                store.migrate()
                for iid, fields in population.items():
                    created(store, iid, **fields)
            for query in queries:
                expected = [r.id for r in memory.query(**query)]
                assert [r.id for r in sqlite.query(**query)] == expected, query
                assert expected == sorted(expected)
                unpaged = {k: v for k, v in query.items() if k not in ("limit", "after")}
                every = [r.id for r in memory.query(**unpaged, limit=1000)]
                walked: list[str] = []
                page = None
                while batch := sqlite.query(**unpaged, limit=2, after=page):
                    walked += [r.id for r in batch]
                    page = batch[-1].id
                assert walked == every, unpaged
        finally:
            sqlite.close()
            memory.close()
