"""The memory store's audit queries and prunes: every row walked, the filters tested in Python.

A mixin of :class:`~statekeeper.storage.MemoryStore`, apart for size.  It answers as the SQL
stores do (same order, same cursor, same rows kept by a prune): the contract suite checks it.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._decode import decode_transition
from ._memory_rows import I_CHART, I_REV, MemoryRows
from .audit import AuditCursor, AuditFilter, check_audit, check_prune, check_prune_rows, matches
from .base import StoreError
from .records import TransitionRecord
from .tables import TRANSITIONS

__all__ = ["MemoryAudit"]

_AT, _ID, _SEQ = TRANSITIONS.positions("at", "id", "seq")


class MemoryAudit(MemoryRows):
    """``audit``, ``prunable`` and ``prune`` over the rows of :class:`MemoryRows`."""

    def _audit_walk(self, filters: AuditFilter, limit: int, after: AuditCursor | None,
                    prunable: bool) -> list[TransitionRecord]:
        with self._lock:
            if self._closed:
                raise StoreError("the store is closed")
            rows = [(row, self._instances.get(iid)) for iid, log in self._transitions.items()
                    for row in log.values()]
        rows.sort(key=lambda pair: (pair[0][_AT], pair[0][_ID]))
        found: list[TransitionRecord] = []
        for row, instance in rows:
            if after is not None and (row[_AT], row[_ID]) <= after:
                continue
            if prunable and (instance is None or row[_SEQ] >= instance[I_REV]):
                continue
            record = decode_transition(row)
            if matches(record, None if instance is None else instance[I_CHART], filters):
                found.append(record)
                if len(found) == limit:
                    break
        return found

    def audit(self, filters: AuditFilter, *, limit: int = 100,
              after: AuditCursor | None = None) -> list[TransitionRecord]:
        check_audit(filters, limit, after)
        return self._audit_walk(filters, limit, after, prunable=False)

    def prunable(self, before: float, *, limit: int = 1000,
                 after: AuditCursor | None = None) -> list[TransitionRecord]:
        check_prune(before, limit, after)
        return self._audit_walk(AuditFilter(until=before), limit, after, prunable=True)

    def prune(self, rows: Sequence[tuple[str, int]]) -> int:
        keys = check_prune_rows(rows)
        deleted = 0
        with self._lock:
            if self._closed:
                raise StoreError("the store is closed")
            for iid, seq in set(keys):
                instance = self._instances.get(iid)
                log = self._transitions.get(iid, {})
                if instance is not None and seq < instance[I_REV] and log.pop(seq, None):
                    deleted += 1
        return deleted
