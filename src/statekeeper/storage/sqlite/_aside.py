"""Malformed timer and outbox rows set aside as dead letters, and put back on request.

Why: the timer scan reads every due timer, and a claim reads every runnable effect, in one
statement each.  One row that cannot be decoded (edited by hand, written by a buggy tool) used
to fail that read every time, so no timer (or effect) of any instance ran again.  Now such a
row is moved, in one transaction, into a dead letter of kind ``row``: its table, its columns
exactly as stored (a value JSON cannot hold is tagged: ``{"blob": hex}``, ``{"real": "nan"}``)
and why it could not be read.  The operator sees it beside the other dead letters, and either
discards it or replays it, which puts the row back exactly as it was (after repairing whatever
made it unreadable, say, or with a statekeeper that reads it).
"""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import Sequence
from typing import Any

from .._codec import Row, dumps, loads
from .._decode import DECODERS
from ..base import IntegrityError, StoreError
from ..tables import OUTBOX, TIMERS, Table

__all__ = ["restore_row_txn", "set_aside_txn"]

_log = logging.getLogger("statekeeper.storage")
#: the tables whose rows may be set aside
_ASIDE: dict[str, Table] = {"timers": TIMERS, "outbox": OUTBOX}


def _tag(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"blob": value.hex()}
    if isinstance(value, float) and not math.isfinite(value):
        return {"real": repr(value)}
    return value


def _untag(value: Any) -> Any:
    if isinstance(value, dict):
        if "blob" in value:
            return bytes.fromhex(value["blob"])
        return float(value["real"])
    return value


def _problem(table: str, row: Row) -> str | None:
    try:
        DECODERS[table](tuple(row[:_ASIDE[table].width]))
    except IntegrityError as exc:
        return str(exc)
    return None


def set_aside_txn(table: str, rows: Sequence[Row], now: float, cur: sqlite3.Cursor) -> None:
    """Move each of ``rows`` (as read, in the decoder's column order) into a dead letter.

    Each row is read again in this write transaction: one a commit replaced meanwhile (a timer
    re-armed) and that now decodes is left where it is.
    """
    described = _ASIDE[table]
    names = described.key
    where = " AND ".join(f"{n} = ?" for n in names)
    at = described.positions(*names)
    label = described.named_by[-1]  # what the letter's key is: a timer's id, an effect's key
    for seen in rows:
        key = tuple(seen[i] for i in at)
        cursor = cur.execute(f"SELECT * FROM {table} WHERE {where}", key)
        columns = [d[0] for d in cursor.description]
        current = cursor.fetchone()
        if current is None:
            continue
        problem = _problem(table, current)
        if problem is None:
            continue
        stored = dict(zip(columns, current, strict=True))
        instance = stored.get("instance")
        row_key = stored.get(label)
        cur.execute(f"DELETE FROM {table} WHERE {where}", key)
        cur.execute(
            "INSERT INTO dead_letters (kind, instance, key, payload, errors, at) "
            "VALUES ('row', ?, ?, ?, ?, ?)",
            (instance if type(instance) is str else "?",
             row_key if type(row_key) is str else "?",
             dumps({"table": table, "row": {c: _tag(v) for c, v in stored.items()}}),
             dumps([f"set aside: {problem}"]), now))
        _log.warning("%s; the row was set aside as dead letter %d (kind 'row'): replay it "
                     "once repaired, or discard it", problem, cur.lastrowid)


def restore_row_txn(letter_id: int, cur: sqlite3.Cursor) -> bool:
    """Put a ``row`` letter's row back into its table as it was, and delete the letter.

    ``False`` when there is no such letter.  Raises :class:`StoreError` when the letter is
    not a set-aside row, or its table holds a row with that key again.
    """
    found = cur.execute("SELECT kind, payload FROM dead_letters WHERE id = ?",
                        (letter_id,)).fetchone()
    if found is None:
        return False
    kind, stored = found
    payload = loads(stored) if kind == "row" else None
    if not isinstance(payload, dict) or payload.get("table") not in _ASIDE:
        raise StoreError(f"dead letter {letter_id} holds no set-aside row")
    table, row = payload["table"], payload.get("row")
    known = {name for _, name, *_ in cur.execute(f"PRAGMA table_info({table})")}
    if not isinstance(row, dict) or not row or set(row) - known:
        raise StoreError(f"dead letter {letter_id}: its row does not fit table {table!r}")
    columns = list(row)
    try:
        cur.execute(f"INSERT INTO {table} ({', '.join(columns)}) "
                    f"VALUES ({', '.join('?' * len(columns))})",
                    [_untag(row[c]) for c in columns])
    except sqlite3.IntegrityError as exc:
        raise StoreError(f"dead letter {letter_id}: its {table} row cannot be put back "
                         f"({exc}); discard the letter instead") from None
    cur.execute("DELETE FROM dead_letters WHERE id = ?", (letter_id,))
    return True
