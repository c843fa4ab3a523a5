"""The store contract, continued: the transition log queried across instances, and pruned.

Run once per backend by ``test_contract.py``: every filter, the ``(at, id)`` order and its
cursor, the rows a prune may delete (never an instance's latest), and the reserved outcome
``denied`` (SQLite schema 8 and PostgreSQL schema 6 admit it).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from contract import advance, created, transition

from statekeeper.storage import Store
from statekeeper.storage.audit import AuditFilter


def log(store: Store, iid: str, event: str, at: float, **fields: Any) -> None:
    """Commit one step of ``iid`` whose log row has ``event``, ``at`` and ``fields``."""
    rec = store.load(iid)
    target = fields.pop("target", (f"s{rec.rev + 1}",))
    row = transition(iid, rec.rev + 1, event=event, at=at, source=rec.configuration,
                     target=target, **fields)
    commit = advance(rec, at=at, transitions=[row])
    commit.instance = replace(commit.instance, configuration=target)
    assert store.apply([commit]) == []


def population(store: Store) -> None:
    """Three instances of two charts; each first row (seq 1, ``init``) is at 1.0."""
    created(store, "o-1", configuration=("placed",))
    created(store, "o-2", configuration=("placed",))
    created(store, "d-1", chart="drip", configuration=("sending",))
    log(store, "o-1", "pay", 10.0, actor="alice", target=("paid",))
    log(store, "o-2", "pay", 10.0, actor="bob", target=("paid",))
    log(store, "d-1", "send", 15.0, target=("sent",))
    log(store, "o-1", "cancel", 20.0, actor="bob", outcome="rejected", target=("paid",),
        reason="no transition accepts the event")
    log(store, "o-2", "statekeeper.migrate", 30.0, actor="ops", outcome="migrated",
        chart_version="2", target=("paid",))


def keys(rows: list[Any]) -> list[tuple[str, int]]:
    return [(r.instance, r.seq) for r in rows]


INITS = [("o-1", 1), ("o-2", 1), ("d-1", 1)]


class AuditStoreContract:
    """``Store.audit``, ``Store.prunable`` and ``Store.prune``."""

    @pytest.mark.parametrize(("filters", "expected"), [
        ({}, [*INITS, ("o-1", 2), ("o-2", 2), ("d-1", 2), ("o-1", 3), ("o-2", 3)]),
        ({"instance": "o-1"}, [("o-1", 1), ("o-1", 2), ("o-1", 3)]),
        ({"chart": "drip"}, [("d-1", 1), ("d-1", 2)]),
        ({"chart": "order", "since": 5.0}, [("o-1", 2), ("o-2", 2), ("o-1", 3), ("o-2", 3)]),
        ({"actor": "bob"}, [("o-2", 2), ("o-1", 3)]),
        ({"event": "pay"}, [("o-1", 2), ("o-2", 2)]),
        ({"event": "pay", "actor": "alice"}, [("o-1", 2)]),
        ({"outcome": "rejected"}, [("o-1", 3)]),
        ({"outcome": "migrated"}, [("o-2", 3)]),
        ({"outcome": "applied", "since": 12.0}, [("d-1", 2)]),
        ({"outcome": "denied"}, []),
        ({"state": "paid"}, [("o-1", 2), ("o-2", 2), ("o-1", 3), ("o-2", 3)]),
        ({"state": "placed"}, [("o-1", 2), ("o-2", 2)]),  # as the source
        ({"state": "sent", "chart": "drip"}, [("d-1", 2)]),
        ({"state": "pai"}, []),
        ({"since": 10.0, "until": 20.0}, [("o-1", 2), ("o-2", 2), ("d-1", 2)]),
        ({"until": 10.0}, INITS),
        ({"chart": "nothing"}, []),
        ({"instance": "o-9"}, []),
    ])
    def test_audit_filters(self, store: Store, filters: dict[str, Any],
                           expected: list[tuple[str, int]]) -> None:
        population(store)
        assert keys(store.audit(AuditFilter(**filters))) == expected

    def test_pages_by_cursor_keep_the_order_through_equal_times(self, store: Store) -> None:
        population(store)
        every = store.audit(AuditFilter())
        for size in (1, 2, 4):
            pages: list[Any] = []
            after = None
            while page := store.audit(AuditFilter(), limit=size, after=after):
                assert len(page) <= size
                pages += page
                after = (page[-1].at, page[-1].id)
            assert keys(pages) == keys(every)
        rows = store.audit(AuditFilter(chart="order"), limit=2)
        rest = store.audit(AuditFilter(chart="order"), after=(rows[-1].at, rows[-1].id))
        assert keys(rows + rest) == keys(store.audit(AuditFilter(chart="order")))

    def test_rows_are_read_whole(self, store: Store) -> None:
        population(store)
        (row,) = store.audit(AuditFilter(outcome="rejected"))
        assert (row.event, row.source, row.target, row.actor, row.reason, row.at) == (
            "cancel", ("paid",), ("paid",), "bob", "no transition accepts the event", 20.0)
        assert row == store.history("o-1")[2]

    @pytest.mark.parametrize(("call", "error"), [
        (lambda s: s.audit({"chart": "order"}), TypeError),
        (lambda s: s.audit(AuditFilter(chart=1)), TypeError),
        (lambda s: s.audit(AuditFilter(outcome="done")), ValueError),
        (lambda s: s.audit(AuditFilter(since="yesterday")), TypeError),
        (lambda s: s.audit(AuditFilter(until=float("nan"))), TypeError),
        (lambda s: s.audit(AuditFilter(), limit=0), ValueError),
        (lambda s: s.audit(AuditFilter(), limit="5"), TypeError),
        (lambda s: s.audit(AuditFilter(), after=5), TypeError),
        (lambda s: s.audit(AuditFilter(), after=(1.0, "3")), TypeError),
        (lambda s: s.prunable("30d"), TypeError),
        (lambda s: s.prunable(1.0, limit=0), ValueError),
        (lambda s: s.prune([1, 2]), TypeError),
        (lambda s: s.prune("o-1"), TypeError),
    ])
    def test_bad_arguments_are_refused_alike(self, store: Store, call: Any,
                                             error: type[Exception]) -> None:
        population(store)
        with pytest.raises(error):
            call(store)

    def test_prunable_rows_are_old_and_never_an_instances_latest(self, store: Store) -> None:
        population(store)
        # before 25: every row but each instance's latest (o-1 3, o-2 3, d-1 2)
        assert keys(store.prunable(25.0)) == [*INITS, ("o-1", 2), ("o-2", 2)]
        assert keys(store.prunable(10.0)) == INITS
        assert keys(store.prunable(1.0)) == []
        first = store.prunable(25.0, limit=2)
        rest = store.prunable(25.0, after=(first[-1].at, first[-1].id))
        assert keys(first + rest) == keys(store.prunable(25.0))

    def test_prune_deletes_what_it_is_given_and_keeps_the_latest(self, store: Store) -> None:
        population(store)
        doomed = keys(store.prunable(25.0))
        assert store.prune([*doomed, ("o-1", 3), ("d-1", 2), ("o-9", 1)]) == len(doomed)
        assert keys(store.audit(AuditFilter())) == [("d-1", 2), ("o-1", 3), ("o-2", 3)]
        assert [r.seq for r in store.history("o-1")] == [3]
        assert store.prune(doomed) == 0  # already gone
        assert store.prune([]) == 0
        assert store.integrity_check() == []  # a pruned log may start after 1
        log(store, "o-1", "refund", 40.0)  # and the instance goes on
        assert [r.seq for r in store.history("o-1")] == [3, 4]

    def test_the_reserved_outcome_denied_is_stored(self, store: Store) -> None:
        rec = created(store, "a-1")
        row = transition("a-1", 2, event="cancel", outcome="denied", actor="mallory",
                         reason="role customer may not send cancel")
        assert store.apply([advance(rec, transitions=[row])]) == []
        assert keys(store.audit(AuditFilter(outcome="denied"))) == [("a-1", 2)]
        assert store.history("a-1")[-1].outcome == "denied"
