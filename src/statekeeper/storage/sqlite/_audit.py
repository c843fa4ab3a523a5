"""The SQLite store's audit queries and prunes (``Store.audit``, ``prunable``, ``prune``).

A mixin of :class:`~statekeeper.storage.sqlite.SQLiteStore`, apart for size.  Each query is
put together from the named terms of ``queries.sql`` for the filters given, so SQLite picks
the index of the most selective one (see migration 8); :mod:`statekeeper.storage.audit` says
what the filters, the order and a prune mean.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from functools import partial
from typing import Any

from .._decode import decode_transition
from .._sql import load_queries
from ..adapters import SQLITE
from ..audit import AuditCursor, AuditFilter, check_audit, check_prune, check_prune_rows, sql_terms
from ..records import TransitionRecord
from ._connection import Connections
from ._schema import QUERIES as Q

__all__ = ["TERMS", "AuditQueries", "audit_sql"]

#: the named terms of ``audit.sql``
TERMS = load_queries(__package__ or "statekeeper.storage.sqlite", "audit.sql")


def audit_sql(names: list[str]) -> str:
    """The query of ``audit_select``, the terms ``names`` joined by AND, and ``audit_order``."""
    where = " AND ".join(TERMS[n] for n in names)
    return f"{TERMS['audit_select']}{' WHERE ' + where if where else ''} {TERMS['audit_order']}"


def _delete_txn(rows: list[tuple[str, int]], cur: sqlite3.Cursor) -> int:
    return int(cur.execute(Q["delete_transitions"], {"rows": SQLITE.list_param(rows)}).rowcount)


class AuditQueries:
    """``audit``, ``prunable`` and ``prune`` over the store's connections."""

    _db: Connections

    def _audit_rows(self, names: list[str], params: dict[str, Any]) -> list[TransitionRecord]:
        sql = audit_sql(names)
        rows: list[Any] = self._db.read(lambda cur: cur.execute(sql, params).fetchall())
        return [decode_transition(r) for r in rows]

    def audit(self, filters: AuditFilter, *, limit: int = 100,
              after: AuditCursor | None = None) -> list[TransitionRecord]:
        check_audit(filters, limit, after)
        return self._audit_rows(*sql_terms(filters, after, limit))

    def prunable(self, before: float, *, limit: int = 1000,
                 after: AuditCursor | None = None) -> list[TransitionRecord]:
        check_prune(before, limit, after)
        names, params = sql_terms(AuditFilter(until=before), after, limit)
        return self._audit_rows([*names, "audit_where_prunable"], params)

    def prune(self, rows: Sequence[tuple[str, int]]) -> int:
        keys = check_prune_rows(rows)
        return self._db.write(partial(_delete_txn, keys)) if keys else 0
