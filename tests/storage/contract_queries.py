"""The store contract, continued: finding instances by chart, state, labels and status.

Run once per backend by ``test_contract.py``, like :class:`contract.StoreContract`.
"""

from __future__ import annotations

from typing import Any

import pytest
from contract import created

from statekeeper.storage import Store


class QueryStoreContract:
    """``Store.query``: filters, id order, ``limit`` and ``after`` paging."""

    def _population(self, store: Store) -> None:
        created(store, "o-1", configuration=("root", "placed"), labels={"region": "eu",
                                                                         "tier": "gold"})
        created(store, "o-2", configuration=("root", "offered"), labels={"region": "us"})
        created(store, "o-3", configuration=("root", "placed"), labels={"region": "eu"},
                status="done")
        created(store, "d-1", chart="drip", configuration=("sending",), labels={"region": "eu"})

    @pytest.mark.parametrize(("filters", "expected"), [
        ({}, ["d-1", "o-1", "o-2", "o-3"]),
        ({"chart": "order"}, ["o-1", "o-2", "o-3"]),
        ({"state": "placed"}, ["o-1", "o-3"]),
        ({"state": "root"}, ["o-1", "o-2", "o-3"]),
        ({"state": "place"}, []),
        ({"labels": {"region": "eu"}}, ["d-1", "o-1", "o-3"]),
        ({"labels": {"region": "eu", "tier": "gold"}}, ["o-1"]),
        ({"labels": {"tier": "silver"}}, []),
        ({"status": "done"}, ["o-3"]),
        ({"chart": "order", "status": "active", "state": "root"}, ["o-1", "o-2"]),
        ({"limit": 2}, ["d-1", "o-1"]),
        ({"after": "o-1", "limit": 2}, ["o-2", "o-3"]),
        ({"after": "o-3"}, []),
        ({"chart": "order", "after": "o-1"}, ["o-2", "o-3"]),
        ({"chart": "order", "limit": 2}, ["o-1", "o-2"]),
        ({"chart": "order", "after": "o-1", "limit": 1}, ["o-2"]),
        ({"chart": "order", "after": "o-2", "limit": 1}, ["o-3"]),
        ({"chart": "order", "state": "placed"}, ["o-1", "o-3"]),
        ({"chart": "order", "status": "done", "labels": {"region": "eu"}}, ["o-3"]),
        ({"chart": "drip", "status": "done"}, []),
        ({"chart": "nothing"}, []),
    ])
    def test_query(self, store: Store, filters: dict[str, Any], expected: list[str]) -> None:
        self._population(store)
        assert [r.id for r in store.query(**filters)] == expected

    def test_a_chart_query_keeps_id_order_across_statuses(self, store: Store) -> None:
        # SQLite reads a chart's active and done instances apart (by its index) and merges them
        for n in range(1, 9):
            created(store, f"a-{n}", status="done" if n % 3 == 0 else "active")
        created(store, "b-1", chart="other")
        every = [f"a-{n}" for n in range(1, 9)]
        assert [r.id for r in store.query(chart="order")] == every
        assert [r.id for r in store.query(chart="order", limit=4)] == every[:4]
        page, seen = None, []
        while batch := store.query(chart="order", after=page, limit=3):
            seen += [r.id for r in batch]
            page = batch[-1].id
        assert seen == every

    @pytest.mark.parametrize(("filters", "error", "reason"), [
        ({"status": "paused"}, ValueError, r"status.*'active' or 'done'"),
        ({"limit": 0}, ValueError, r"limit.*at least 1"),
        ({"limit": -1}, ValueError, r"limit.*at least 1"),  # SQLite read LIMIT -1 as no limit
        ({"limit": "5"}, TypeError, r"limit"),
        ({"limit": True}, TypeError, r"limit"),
        ({"state": 5}, TypeError, r"state"),
        ({"chart": ("order",)}, TypeError, r"chart"),
        ({"after": 3}, TypeError, r"after"),
        ({"labels": {"region": 1}}, TypeError, r"labels"),
        ({"labels": ["region"]}, TypeError, r"labels"),
    ])
    def test_a_malformed_query_is_refused_alike_by_every_store(
            self, store: Store, filters: dict[str, Any], error: type[Exception],
            reason: str) -> None:
        self._population(store)
        with pytest.raises(error, match=reason):
            store.query(**filters)
