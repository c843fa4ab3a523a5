"""Malformed timer and outbox rows set aside as dead letters, and put back on request.

The same rule as the SQLite store (``sqlite/_aside.py``, which says why): a timer or outbox
row that cannot be decoded would stop every timer scan or claim, so it is moved, in one
transaction, into a dead letter of kind ``row`` holding the row exactly as stored (every
column by name: ``to_jsonb`` of the row) and why it could not be read; replaying the letter
puts the row back as it was (``jsonb_populate_record``).  PostgreSQL's column types keep out
much of what a SQLite file may hold (a time that is text, JSON that does not parse), so what
is set aside here is what the types allow and the decoders refuse: an event that is not an
object, an unknown status written by hand, and the like.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from .._codec import Row, dumps
from ..base import IntegrityError, StoreError
from ..tables import OUTBOX, TIMERS, Table
from ._pool import Connection
from ._rows import ROWS
from ._use import q

__all__ = ["restore_row_txn", "set_aside_txn"]

_log = logging.getLogger("statekeeper.storage")
#: the tables whose rows may be set aside
_ASIDE: dict[str, Table] = {"timers": TIMERS, "outbox": OUTBOX}


def _problem(table: str, row: Row) -> str | None:
    try:
        ROWS.by_table[table](tuple(row))
    except IntegrityError as exc:
        return str(exc)
    return None


def set_aside_txn(table: str, rows: Sequence[Row], now: float, conn: Connection) -> None:
    """Move each of ``rows`` (as read: the described columns) into a dead letter.

    Each row is locked and read again in this transaction: one a commit replaced meanwhile
    (a timer re-armed), or that another process set aside first, is left alone.
    """
    described = _ASIDE[table]
    at = described.positions(*described.key)  # the row's key: the queries' parameters
    label = described.named_by[-1]  # what the letter's key is: a timer's id, an effect's key
    for seen in rows:
        key = tuple(seen[i] for i in at)
        found = conn.execute(q(f"row_as_json_{table}"), key).fetchone()
        if found is None:
            continue
        current = conn.execute(q(f"one_{table}"), key).fetchone()
        problem = None if current is None else _problem(table, current)
        if problem is None:
            continue
        stored = found[0]  # every column by name, as stored
        instance = stored.get("instance")
        row_key = stored.get(label)
        conn.execute(q(f"set_aside_{table}"), key)
        letter = conn.execute(q("insert_row_letter"), (
            instance if type(instance) is str else "?", row_key if type(row_key) is str else "?",
            dumps({"table": table, "row": stored}), dumps([f"set aside: {problem}"]),
            now)).fetchone()
        _log.warning("%s; the row was set aside as dead letter %s (kind 'row'): replay it "
                     "once repaired, or discard it", problem, letter[0] if letter else "?")


def restore_row_txn(letter_id: int, conn: Connection) -> bool:
    """Put a ``row`` letter's row back into its table as it was, and delete the letter.

    ``False`` when there is no such letter.  Raises :class:`StoreError` when the letter is
    not a set-aside row, or its table holds a row with that key again.
    """
    found = conn.execute(q("load_letter_for_restore"), (letter_id,)).fetchone()
    if found is None:
        return False
    kind, payload = found
    if kind != "row" or not isinstance(payload, dict) or payload.get("table") not in _ASIDE:
        raise StoreError(f"dead letter {letter_id} holds no set-aside row")
    table, row = payload["table"], payload.get("row")
    known = {r[0] for r in conn.execute(q("table_columns"), (table,))}
    if not isinstance(row, dict) or not row or set(row) - known:
        raise StoreError(f"dead letter {letter_id}: its row does not fit table {table!r}")
    if conn.execute(q(f"restore_{table}"), (dumps(row),)).rowcount != 1:
        raise StoreError(f"dead letter {letter_id}: its {table} row cannot be put back (a row "
                         f"with its key exists again); discard the letter instead")
    conn.execute(q("delete_dead_letter"), (letter_id,))
    return True
