"""Writing a whole group of commits with one statement per kind of row (the common case).

A group of commits of distinct instances (new or existing), none of which acts on a dead
letter, is written with one statement per kind of row: all instance updates, then the timers
they fire and the effects they close, then the new instances, then all transition rows, and so
on.  Each ``execute`` from Python costs several microseconds that one statement for the group
pays once, and in the single writer thread those microseconds are the throughput.  Anything
else (a stale ``rev``, a timer already gone, an effect already closed, a row that already
exists, such as an instance id taken) raises :class:`Redo`, and the caller writes the group
again the careful way, one savepoint per commit.
"""

from __future__ import annotations

import sqlite3
from operator import itemgetter

from .._codec import EncodedCommit, Row
from ..adapters import SQLITE
from ..records import Commit
from ..tables import INSTANCES, TRANSITIONS
from ._schema import QUERIES as Q

__all__ = [
    "UPDATE_INSTANCE",
    "Redo",
    "apply_batched_txn",
    "batchable",
    "finish_effects",
    "is_collision",
    "write_rows",
    "write_transitions",
]

#: a row that already exists means another step got there first: a conflict, not an error
is_collision = SQLITE.is_collision

# An encoded instance row's columns (INSTANCES.written) as the named queries bind them:
_ID, _STATUS = INSTANCES.written_at("id"), INSTANCES.written_at("status")
#: ``update_instance``: SET chart ... labels, updated_at WHERE id = ? (then the rev read)
UPDATE_INSTANCE = itemgetter(*(INSTANCES.written_at(n) for n in (
    "chart", "version", "hash", "snapshot", "configuration", "status", "rev", "labels",
    "updated_at", "id")))
#: ``update_active_instance``: the same without chart and status, WHERE id = ? AND rev = ?
#: AND chart = ? (the chart after the rev read)
_UPDATE_ACTIVE = itemgetter(*(INSTANCES.written_at(n) for n in (
    "version", "hash", "snapshot", "configuration", "rev", "labels", "updated_at", "id")))
_CHART = INSTANCES.written_at("chart")
#: an encoded transition's optional columns, left out of ``insert_transition_plain``
_ACTOR, _TRACE, _REASON, _KEY = (TRANSITIONS.written_at(n)
                                 for n in ("actor", "trace_id", "reason", "idempotency_key"))
_PLAIN = itemgetter(*(TRANSITIONS.written_at(n) for n in (
    "instance", "seq", "event", "source", "target", "chart_version", "outcome", "at", "data",
    "microsteps")))
#: ``insert_transition_keyed``: the plain columns and the idempotency key
_KEYED = itemgetter(*(TRANSITIONS.written_at(n) for n in (
    "instance", "seq", "event", "source", "target", "chart_version", "outcome", "at", "data",
    "idempotency_key", "microsteps")))


class Redo(Exception):
    """The group cannot be written in one go: write it again, one savepoint per commit."""


def batchable(encoded: list[EncodedCommit]) -> bool:
    """Whether the group can be written one statement per kind of row.

    Every commit must create or update its own instance (no two of one instance), and may fire
    its own timer, close its own effect and append rows; an operator's dead-letter actions
    take the careful way.
    """
    seen: set[str] = set()
    for e in encoded:
        iid = e.instance[_ID]
        if iid in seen or (not e.plain and (e.reopened or e.letters_deleted)):
            return False
        seen.add(iid)
    return len(encoded) > 1


#: rows per multi-row statement at most; groups are written in chunks of this size and the rest
_CHUNK = 64
_multi_sql: dict[tuple[str, int], str] = {}
#: UPDATE ... FROM (VALUES ...) came with SQLite 3.33; an older library updates row by row
UPDATE_FROM = sqlite3.sqlite_version_info >= (3, 33, 0)


def _multi(query: str, size: int) -> str:
    """The named ``query`` with its one ``VALUES`` tuple repeated ``size`` times."""
    sql = _multi_sql.get((query, size))
    if sql is None:
        one = Q[query]
        at = one.rindex("VALUES") + len("VALUES")
        start = one.index("(", at)
        end = one.index(")", start) + 1
        values = one[start:end]
        if one[at:start].strip() or values.strip("(?, )"):  # pragma: no cover - a query's bug
            raise ValueError(f"query {query!r} has no single VALUES tuple of parameters")
        sql = _multi_sql[(query, size)] = (
            one[:end] + (", " + values) * (size - 1) + one[end:])
    return sql


def write_rows(cur: sqlite3.Cursor, query: str, rows: list[Row]) -> int:
    """``executemany`` of the one-row statement ``query`` (``... VALUES (?, ...) ...``), cheaper.

    One statement with many ``VALUES`` tuples costs about half as much per row as the same
    rows through ``executemany``, which steps and resets a statement per row (and releases and
    takes the GIL around each step).  Chunks of at most :data:`_CHUNK` rows keep the
    statements (one per size) few enough to stay prepared.  Returns the rows changed.
    """
    changed = 0
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start:start + _CHUNK]
        if len(chunk) == 1:
            changed += cur.execute(Q[query], chunk[0]).rowcount
        else:
            changed += cur.execute(_multi(query, len(chunk)),
                                   [value for row in chunk for value in row]).rowcount
    return changed


def write_transitions(cur: sqlite3.Cursor, encoded: list[EncodedCommit]) -> None:
    """The group's transition rows, each commit's in the narrowest of three statements.

    A None bound costs the sqlite3 module a failed adapter lookup, and most rows have no
    actor, trace id, reason or key: those go in ``insert_transition_plain``; the rows of an
    effect's outcome or a timer's firing, keyed but otherwise plain, in
    ``insert_transition_keyed``; the rest in ``insert_transition``.  A commit's rows stay
    together, in order, so one instance's rows keep their order of ids.
    """
    plain: list[Row] = []
    keyed: list[Row] = []
    full: list[Row] = []
    for e in encoded:
        rows = e.transitions
        if all(r[_ACTOR] is None and r[_TRACE] is None and r[_REASON] is None for r in rows):
            if all(r[_KEY] is None for r in rows):
                plain += map(_PLAIN, rows)
            else:
                keyed += map(_KEYED, rows)
        else:
            full += rows
    for query, written in (("insert_transition_plain", plain),
                           ("insert_transition_keyed", keyed), ("insert_transition", full)):
        if written:
            write_rows(cur, query, written)


def finish_effects(cur: sqlite3.Cursor, rows: list[tuple[str, str | None, str | None, str]]
                   ) -> int:
    """Close the outbox rows of ``rows`` (``finish_effect``'s); return the rows closed.

    Those closed without an error by the worker holding their lease, the usual outcome, go
    in one ``finish_owned_effects`` statement (no ``None`` bound, one step for all); the rest,
    and all of them on a SQLite without ``UPDATE ... FROM``, through ``finish_effect``.
    """
    owned = [(status, owner, key) for status, error, owner, key in rows
             if error is None and owner is not None]
    if not UPDATE_FROM or len(owned) < 2:
        return int(cur.executemany(Q["finish_effect"], rows).rowcount)
    closed = write_rows(cur, "finish_owned_effects", owned)
    if len(owned) < len(rows):
        closed += cur.executemany(Q["finish_effect"], [
            r for r in rows if r[1] is not None or r[2] is None]).rowcount
    return closed


def apply_batched_txn(encoded: list[EncodedCommit], cur: sqlite3.Cursor) -> list[Commit]:
    """Write a :func:`batchable` group; raise :class:`Redo` on any conflict."""
    created = [e.instance for e in encoded if e.expected_rev is None]
    updated = [e for e in encoded if e.expected_rev is not None] if created else encoded
    active = [(*_UPDATE_ACTIVE(e.instance), e.expected_rev, e.instance[_CHART])
              for e in updated if e.instance[_STATUS] == "active"]
    other = [(*UPDATE_INSTANCE(e.instance), e.expected_rev)
             for e in updated if e.instance[_STATUS] != "active"]
    if active and (write_rows(cur, "update_active_instances", active) if UPDATE_FROM and
                   len(active) > 1 else cur.executemany(Q["update_active_instance"], active)
                   .rowcount) != len(active):
        raise Redo  # some rev is stale: find out which, commit by commit
    if other and cur.executemany(Q["update_instance"], other).rowcount != len(other):
        raise Redo
    rest = [e for e in encoded if not e.plain]  # usually none: plain steps only
    # A timer gone (fired elsewhere, or cancelled) or an effect closed (answered elsewhere):
    # find out which commit, and lose only that one.
    finished = [e.finish for e in rest if e.finish]
    if finished and finish_effects(cur, finished) != len(finished):
        raise Redo
    for query, rows in (("delete_timer", [e.timer_fired for e in rest if e.timer_fired]),
                        ("release_open_effect", [e.release for e in rest if e.release])):
        if rows and cur.executemany(Q[query], rows).rowcount != len(rows):
            raise Redo
    try:
        if created:  # an id that exists already collides: that start loses, found by Redo
            write_rows(cur, "insert_instance", created)
        write_transitions(cur, encoded)
        if rest:
            write_rows(cur, "insert_effect", [r for e in rest for r in e.effects])
            for sql, rows in ((Q["delete_timer"], [r for e in rest for r in e.timers_cancelled]),
                              (Q["upsert_timer"], [r for e in rest for r in e.timers_set])):
                if rows:
                    cur.executemany(sql, rows)
            write_rows(cur, "insert_dead_letter", [r for e in rest for r in e.dead_letters])
            write_rows(cur, "insert_mailbox", [e.mailbox for e in rest if e.mailbox is not None])
    except sqlite3.IntegrityError as exc:
        if is_collision(exc):
            raise Redo from None
        raise
    return []
