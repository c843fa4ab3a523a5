"""Writing a group one commit at a time: the general way, and the careful way after a race.

Undoing one commit needs a ``SAVEPOINT`` per commit, which costs two statements each (about a
fifth of a commit's SQL time).  So a group first runs without them: the usual conflict, a stale
``rev``, is found by the commit's first write (``UPDATE ... WHERE id = ? AND rev = ?`` changing
no row) and leaves nothing to undo.  Only a conflict found after that first write (the fired
timer is gone, the effect was already closed, a row already exists: races that the rev check
cannot see) rolls the transaction back (:class:`~._batch.Redo`), and the group is redone with
a savepoint per commit.  The statements and their order are the same either way.
"""

from __future__ import annotations

import sqlite3

from .._codec import EncodedCommit
from ..records import Commit
from ..tables import INSTANCES
from ._batch import UPDATE_INSTANCE, Redo, is_collision
from ._schema import QUERIES as Q

__all__ = ["apply_txn"]

_INSERT_INSTANCE, _UPDATE_INSTANCE = Q["insert_instance"], Q["update_instance"]
_INSERT_TRANSITION, _INSERT_EFFECT = Q["insert_transition"], Q["insert_effect"]
_UPSERT_TIMER, _DELETE_TIMER = Q["upsert_timer"], Q["delete_timer"]
_FINISH_EFFECT, _INSERT_MAILBOX = Q["finish_effect"], Q["insert_mailbox"]
_INSERT_DEAD_LETTER = Q["insert_dead_letter"]
_RELEASE_OPEN, _REOPEN = Q["release_open_effect"], Q["reopen_effect"]
_DELETE_LETTER = Q["delete_dead_letter"]
_ID = INSTANCES.written_at("id")


def _write_commit_txn(cur: sqlite3.Cursor, e: EncodedCommit, savepoint: bool) -> bool:
    """Write one commit; ``False`` if it conflicts.

    A conflict returns before anything is written (a stale rev), or after (the caller rolls
    back the commit's savepoint).  Without a savepoint, a conflict found after the first write
    raises :class:`~._batch.Redo` instead.
    """
    row = e.instance
    try:
        if e.expected_rev is None:
            cur.execute(_INSERT_INSTANCE, row)
        elif cur.execute(_UPDATE_INSTANCE, (*UPDATE_INSTANCE(row), e.expected_rev)
                         ).rowcount != 1:
            return False
    except sqlite3.IntegrityError as exc:  # the statement alone was undone: nothing written
        if is_collision(exc):
            return False
        raise
    try:
        ok = _write_rows_txn(cur, e)
    except sqlite3.IntegrityError as exc:
        if not is_collision(exc):
            raise
        ok = False
    if not ok and not savepoint:
        raise Redo
    return ok


def _write_rows_txn(cur: sqlite3.Cursor, e: EncodedCommit) -> bool:
    if e.timer_fired is not None and cur.execute(_DELETE_TIMER, e.timer_fired).rowcount != 1:
        return False
    if e.finish is not None and cur.execute(_FINISH_EFFECT, e.finish).rowcount != 1:
        return False
    if e.release is not None and cur.execute(_RELEASE_OPEN, e.release).rowcount != 1:
        return False
    for reopen in e.reopened:
        if cur.execute(_REOPEN, reopen).rowcount != 1:
            return False
    for letter in e.letters_deleted:
        if cur.execute(_DELETE_LETTER, letter).rowcount != 1:
            return False
    for sql, rows in ((_INSERT_TRANSITION, e.transitions), (_INSERT_EFFECT, e.effects),
                      (_DELETE_TIMER, e.timers_cancelled), (_UPSERT_TIMER, e.timers_set),
                      (_INSERT_DEAD_LETTER, e.dead_letters)):
        if len(rows) == 1:  # executemany costs more than execute for a single row
            cur.execute(sql, rows[0])
        elif rows:
            cur.executemany(sql, rows)
    if e.mailbox is not None:
        cur.execute(_INSERT_MAILBOX, e.mailbox)
    return True


def apply_txn(encoded: list[EncodedCommit], savepoints: bool,
               cur: sqlite3.Cursor) -> list[Commit]:
    """Write the group in order; with ``savepoints``, each commit in its own savepoint."""
    conflicts = []
    lost: set[str] = set()  # a later commit of a lost one's instance was built on it: lost too
    for e in encoded:
        if e.instance[_ID] in lost:
            conflicts.append(e.commit)
            continue
        if not savepoints:
            if not _write_commit_txn(cur, e, False):
                conflicts.append(e.commit)
                lost.add(e.instance[_ID])
            continue
        cur.execute("SAVEPOINT c")
        if not _write_commit_txn(cur, e, True):
            cur.execute("ROLLBACK TO c")
            conflicts.append(e.commit)
            lost.add(e.instance[_ID])
        cur.execute("RELEASE c")
    return conflicts
