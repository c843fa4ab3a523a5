"""Writing a group of commits in one PostgreSQL transaction; a conflicting one lost alone.

The same three ways as the SQLite store (``sqlite/_batch.py``, ``sqlite/_commit.py``), for
the same reason: what costs is the number of statements, here each a round trip.

1. A group of distinct instances, none acting on a dead letter (the common case), is written
   with one statement per kind of row: every instance update in one ``UPDATE ... FROM
   unnest(...)``, every transition row in one ``INSERT ... SELECT FROM unnest(...)``, the
   other rows with ``executemany`` (pipelined by psycopg).  Any conflict raises :class:`Redo`.
2. Any other group is written commit by commit without savepoints: a stale ``rev`` is found by
   the commit's first statement and leaves nothing to undo.  A conflict found after that
   raises :class:`Redo`.
3. After a :class:`Redo` the group is written again commit by commit, each in a savepoint of
   its own, and a conflicting commit is rolled back to its savepoint and returned.

Lock order: every group locks its instance rows first (each commit's first statement
updates or inserts its instance's row; the batched ``UPDATE`` locks them all), and holds
them until it commits.  The group is written in instance id order, and the batched
``UPDATE`` locks its rows in id order whatever its plan, so two processes' groups sharing
instances wait for each other instead of deadlocking (a deadlock costs PostgreSQL's
``deadlock_timeout``, a second by default, before one of them is aborted and run again).
Sorting is stable, so the commits of one instance keep their order; commits of different
instances never depend on each other within a group.

Every insert says ``ON CONFLICT DO NOTHING`` and every conditional update is checked by its
row count, so a conflict (an id taken, a seq or key written first, a timer gone, an effect
closed) is never an SQL error: in PostgreSQL an error aborts the whole transaction, the other
commits of the group with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._codec import EncodedCommit, Row
from ..records import Commit
from ..tables import INSTANCES, TRANSITIONS
from ._pool import Connection
from ._rows import arrays, finish_params, release_params, update_params
from ._use import Database, q

__all__ = ["Redo", "apply_group"]

_ID = INSTANCES.written_at("id")


class Redo(Exception):
    """The group cannot be written this way: write it again, one savepoint per commit."""


def _batchable(encoded: Sequence[EncodedCommit]) -> bool:
    seen: set[str] = set()
    for e in encoded:
        iid = e.instance[_ID]
        if iid in seen or (not e.plain and (e.reopened or e.letters_deleted)):
            return False
        seen.add(iid)
    return len(encoded) > 1


def _many(conn: Connection, name: str, rows: Sequence[Any]) -> int:
    """``executemany`` of the named statement; the rows it changed (0 for no rows)."""
    if not rows:
        return 0
    cur = conn.cursor()
    if len(rows) == 1:
        cur.execute(q(name), rows[0])
    else:
        cur.executemany(q(name), rows)
    return cur.rowcount


def _batched_txn(encoded: Sequence[EncodedCommit], conn: Connection) -> list[Commit]:
    """Write a batchable group with one statement per kind of row; :class:`Redo` on conflict."""
    updated = [e for e in encoded if e.expected_rev is not None]
    created = [e.instance for e in encoded if e.expected_rev is None]
    if updated:
        changes = arrays(INSTANCES, [e.instance for e in updated])
        changes["expected"] = [e.expected_rev for e in updated]
        if conn.execute(q("update_instances"), changes).rowcount != len(updated):
            raise Redo  # some rev is stale: find out which, commit by commit
    rest = [e for e in encoded if not e.plain]
    checked: list[tuple[str, Sequence[Any]]] = [
        ("delete_timer", [e.timer_fired for e in rest if e.timer_fired]),
        ("finish_effect", [finish_params(e.finish) for e in rest if e.finish]),
        ("release_open_effect", [release_params(e.release) for e in rest if e.release])]
    for name, rows in checked:
        if _many(conn, name, rows) != len(rows):
            raise Redo  # a timer gone, an effect closed: find out which commit
    if created and conn.execute(q("insert_instances"),
                                arrays(INSTANCES, created)).rowcount != len(created):
        raise Redo  # an id taken
    logged: list[Row] = [r for e in encoded for r in e.transitions]
    if logged and conn.execute(q("insert_transitions"),
                               arrays(TRANSITIONS, logged)).rowcount != len(logged):
        raise Redo  # a seq written first
    effects = [r for e in rest for r in e.effects]
    mailboxes = [e.mailbox for e in rest if e.mailbox is not None]
    if (_many(conn, "insert_effect", effects) != len(effects)
            or _many(conn, "insert_mailbox", mailboxes) != len(mailboxes)):
        raise Redo  # an effect key or an idempotency key written first
    _many(conn, "delete_timer", [r for e in rest for r in e.timers_cancelled])
    _many(conn, "upsert_timer", [r for e in rest for r in e.timers_set])
    _many(conn, "insert_dead_letter", [r for e in rest for r in e.dead_letters])
    return []


def _write_commit(conn: Connection, e: EncodedCommit, savepoint: bool) -> bool:
    """Write one commit; ``False`` on a conflict.

    A conflict found by the commit's first statement (a stale rev, an id taken) has written
    nothing.  One found later leaves rows to undo: with ``savepoint`` the caller rolls the
    savepoint back; without, :class:`Redo`.
    """
    if e.expected_rev is None:
        if conn.execute(q("insert_instance"), e.instance).rowcount != 1:
            return False
    elif conn.execute(q("update_instance"), update_params(e)).rowcount != 1:
        return False
    if _write_rows(conn, e):
        return True
    if not savepoint:
        raise Redo
    return False


def _write_rows(conn: Connection, e: EncodedCommit) -> bool:
    checked: list[tuple[str, Sequence[Any]]] = [
        ("delete_timer", [e.timer_fired] if e.timer_fired is not None else []),
        ("finish_effect", [finish_params(e.finish)] if e.finish is not None else []),
        ("release_open_effect", [release_params(e.release)] if e.release is not None else []),
        ("reopen_effect", e.reopened),
        ("delete_dead_letter", e.letters_deleted),
        ("insert_transition", e.transitions),
        ("insert_effect", e.effects),
        ("insert_mailbox", [e.mailbox] if e.mailbox is not None else []),
    ]
    for name, rows in checked:
        if _many(conn, name, rows) != len(rows):
            return False
    _many(conn, "delete_timer", e.timers_cancelled)
    _many(conn, "upsert_timer", e.timers_set)
    _many(conn, "insert_dead_letter", e.dead_letters)
    return True


def _one_by_one_txn(encoded: Sequence[EncodedCommit], savepoints: bool,
                    conn: Connection) -> list[Commit]:
    """Write the group in order; with ``savepoints`` each commit in its own savepoint."""
    conflicts: list[Commit] = []
    lost: set[str] = set()  # a later commit of a lost one's instance was built on it: lost too
    for e in encoded:
        iid = e.instance[_ID]
        if iid in lost:
            conflicts.append(e.commit)
            continue
        if not savepoints:
            if not _write_commit(conn, e, False):
                conflicts.append(e.commit)
                lost.add(iid)
            continue
        try:
            with conn.transaction():  # a savepoint
                if not _write_commit(conn, e, True):
                    raise _Undo
        except _Undo:
            conflicts.append(e.commit)
            lost.add(iid)
    return conflicts


class _Undo(Exception):
    """Roll the commit's savepoint back."""


def _instance_id(e: EncodedCommit) -> str:
    iid: str = e.instance[_ID]
    return iid


def apply_group(db: Database, encoded: Sequence[EncodedCommit]) -> list[Commit]:
    """Write ``encoded`` in one transaction; the commits that conflicted, written not at all.

    The group is written in instance id order (see the module docstring: lock order).
    """
    encoded = sorted(encoded, key=_instance_id)  # stable: one instance's commits keep order
    try:
        if _batchable(encoded):
            return db.write(lambda conn: _batched_txn(encoded, conn))
        return db.write(lambda conn: _one_by_one_txn(encoded, False, conn))
    except Redo:  # a race found after a first write: one savepoint per commit
        return db.write(lambda conn: _one_by_one_txn(encoded, True, conn))
