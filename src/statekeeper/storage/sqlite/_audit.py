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
from ..audit import SqlAudit, check_prune_rows
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


class AuditQueries(SqlAudit):
    """``audit``, ``prunable`` and ``prune`` over the store's connections."""

    _db: Connections

    def _audit_rows(self, names: list[str], params: dict[str, Any]) -> list[TransitionRecord]:
        sql = audit_sql(names)
        rows: list[Any] = self._db.read(lambda cur: cur.execute(sql, params).fetchall())
        return [decode_transition(r) for r in rows]

    def prune(self, rows: Sequence[tuple[str, int]]) -> int:
        keys = check_prune_rows(rows)
        return self._db.write(partial(_delete_txn, keys)) if keys else 0
