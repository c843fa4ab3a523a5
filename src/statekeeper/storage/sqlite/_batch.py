"""Writing a whole group of commits with one statement per kind of row (the common case).

A group of commits of distinct, existing instances, none of which fires a timer or closes an
effect, is written with ``executemany``: all instance updates, then all transition rows, and so
on.  Each ``execute`` from Python costs several microseconds that ``executemany`` pays once, and
in the single writer thread those microseconds are the throughput.  Anything else (a stale
``rev``, a row that already exists, a row-counted change) raises :class:`Redo`, and the caller
writes the group again the careful way, one savepoint per commit.
"""

from __future__ import annotations

import sqlite3

from .._codec import EncodedCommit
from ..records import Commit
from ._schema import QUERIES as Q

__all__ = ["Redo", "apply_batched_txn", "batchable"]

_COLLISIONS = frozenset({"SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE"})


class Redo(Exception):
    """The group cannot be written in one go: write it again, one savepoint per commit."""


def batchable(encoded: list[EncodedCommit]) -> bool:
    """Whether every commit only updates its own instance and appends rows."""
    seen: set[str] = set()
    for e in encoded:
        iid = e.instance[0]
        if (e.expected_rev is None or iid in seen or e.timer_fired is not None
                or e.finish is not None or e.release is not None or e.reopened
                or e.letters_deleted):
            return False
        seen.add(iid)
    return len(encoded) > 1


def apply_batched_txn(encoded: list[EncodedCommit], cur: sqlite3.Cursor) -> list[Commit]:
    """Write a :func:`batchable` group; raise :class:`Redo` on any conflict."""
    # instance columns: id chart version hash snapshot configuration status rev labels ...
    active = [(*e.instance[2:6], e.instance[7], e.instance[8], e.instance[10], e.instance[0],
               e.expected_rev, e.instance[1]) for e in encoded if e.instance[6] == "active"]
    other = [(*e.instance[1:9], e.instance[10], e.instance[0], e.expected_rev)
             for e in encoded if e.instance[6] != "active"]
    for sql, updates in ((Q["update_active_instance"], active), (Q["update_instance"], other)):
        if updates and cur.executemany(sql, updates).rowcount != len(updates):
            raise Redo  # some rev is stale: find out which, commit by commit
    try:
        for sql, rows in ((Q["insert_transition"], [r for e in encoded for r in e.transitions]),
                          (Q["insert_effect"], [r for e in encoded for r in e.effects]),
                          (Q["delete_timer"], [r for e in encoded for r in e.timers_cancelled]),
                          (Q["upsert_timer"], [r for e in encoded for r in e.timers_set]),
                          (Q["insert_dead_letter"], [r for e in encoded for r in e.dead_letters]),
                          (Q["insert_mailbox"], [e.mailbox for e in encoded
                                                 if e.mailbox is not None])):
            if rows:
                cur.executemany(sql, rows)
    except sqlite3.IntegrityError as exc:
        if getattr(exc, "sqlite_errorname", "") in _COLLISIONS:
            raise Redo from None
        raise
    return []
