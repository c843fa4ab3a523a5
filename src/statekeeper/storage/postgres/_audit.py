"""The PostgreSQL store's audit queries and prunes (``Store.audit``, ``prunable``, ``prune``).

A mixin of :class:`~statekeeper.storage.postgres.PostgresStore`, apart for size.  Each query is
put together from the named terms of ``queries.sql`` for the filters given, so the planner
can use the index of the most selective one (see migration 6); :mod:`statekeeper.storage.audit`
says what the filters, the order and a prune mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, LiteralString

from .._sql import load_queries
from ..audit import SqlAudit, check_prune_rows
from ..records import TransitionRecord
from ._pool import Connection
from ._rows import ROWS
from ._use import Database, q

__all__ = ["TERMS", "AuditQueries", "audit_sql"]

#: the named terms of ``audit.sql``
TERMS = load_queries(__package__ or "statekeeper.storage.postgres", "audit.sql")


def _t(name: str) -> LiteralString:
    """A term of ``audit.sql`` (shipped with the package: never user input)."""
    term: LiteralString = TERMS[name]  # type: ignore[assignment,unused-ignore]
    return term


def audit_sql(names: list[str]) -> LiteralString:
    """The query of ``audit_select``, the terms ``names`` joined by AND, and ``audit_order``."""
    where: LiteralString = " AND ".join(_t(n) for n in names)
    if where:
        return _t("audit_select") + " WHERE " + where + " " + _t("audit_order")
    return _t("audit_select") + " " + _t("audit_order")


class AuditQueries(SqlAudit):
    """``audit``, ``prunable`` and ``prune`` over the store's connections."""

    _db: Database

    def _audit_rows(self, names: list[str], params: dict[str, Any]) -> list[TransitionRecord]:
        sql = audit_sql(names)
        rows: list[Any] = self._db.read(lambda conn: conn.execute(sql, params).fetchall())
        return [ROWS.transition(r) for r in rows]

    def prune(self, rows: Sequence[tuple[str, int]]) -> int:
        keys = check_prune_rows(rows)
        if not keys:
            return 0
        params = {"instances": [k[0] for k in keys], "seqs": [k[1] for k in keys]}

        def delete(conn: Connection) -> int:
            return int(conn.execute(q("delete_transitions"), params).rowcount)

        return self._db.write(delete)
