r"""The shared rows (SQLite's column order, JSON as text, flags as 0/1) as PostgreSQL takes them.

Why one module: the codec (``storage/_codec.py``) encodes records into rows shaped for SQLite,
and the decoders (``storage/_decode.py``) read rows of that shape.  PostgreSQL keeps JSON as
``jsonb`` and flags as ``boolean``.  Reading needs nothing here: every ``SELECT`` of
``queries.sql`` lists its columns in the decoders' order, with ``::text`` on jsonb and
``::int`` on booleans.  Writing needs what is here: the parameters of each statement built from
an encoded row, the few values PostgreSQL cannot hold refused by name, and the rows of a group
turned into one array per column.  When storage grows a neutral row description with an
adapter per backend (issue 16, item 1), this module is what that adapter replaces.

What PostgreSQL cannot hold that SQLite can: the character U+0000 (NUL), in a text column or
in a jsonb string (``\u0000``).  A commit holding one, or text that is no valid Unicode (a
lone surrogate, which no UTF-8 database holds), is refused whole with
:class:`~statekeeper.core.errors.UnstorableValue`, naming where it is, before anything is sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

from ...core.errors import UnstorableValue
from .._codec import EncodedCommit, Row

__all__ = [
    "INSTANCE_ARRAYS",
    "TRANSITION_ARRAYS",
    "check_storable",
    "columns",
    "effect_params",
    "finish_params",
    "keep_floats",
    "keep_floats_in",
    "release_params",
    "update_params",
]

#: the columns of an encoded instance row, in its order (the arrays of ``insert_instances``)
INSTANCE_ARRAYS = ("id", "chart", "version", "hash", "snapshot", "configuration", "status",
                   "rev", "labels", "created_at", "updated_at")
#: the columns of an encoded transition row (the arrays of ``insert_transitions``)
TRANSITION_ARRAYS = ("instance", "seq", "event", "source", "target", "chart_version", "outcome",
                     "at", "data", "actor", "trace_id", "reason", "idempotency_key",
                     "microsteps")
_AT_MOST_ONCE = 9  # the position of the flag in an encoded outbox row

# Which positions of each kind of encoded row hold JSON text, and their column names.
_INSTANCE_JSON = {4: "snapshot", 5: "configuration", 8: "labels"}
_TRANSITION_JSON = {3: "source", 4: "target", 8: "data", 13: "microsteps"}
_EFFECT_JSON = {3: "args", 11: "errors"}
_TIMER_JSON = {3: "event"}
_MAILBOX_JSON = {3: "result"}
_LETTER_JSON = {3: "payload", 4: "errors"}
_NUL, _NUL_ESCAPE = "\x00", "\\u0000"


#: a JSON string (skipped whole), or a number written with a positive exponent (captured)
_STRING_OR_BIG_FLOAT = re.compile(r'"(?:[^"\\]|\\.)*"|(-?\d+(?:\.\d+)?e\+\d+)')


def _expand(match: re.Match[str]) -> str:
    number = match.group(1)
    return match.group(0) if number is None else f"{Decimal(number):f}.0"


def keep_floats(text: str) -> str:
    """JSON ``text`` with every float written as ``1.5e+300`` spelled out with a ``.0``.

    jsonb keeps a number as a decimal and writes it back without an exponent, and with a
    fraction only if it was written with one: ``1e+20`` would read back as the integer
    ``100000000000000000000``, and ``1.5e+300`` as an integer that is not even equal to it.
    Spelled out with ``.0`` (exactly the decimal Python's shortest ``repr`` names), it reads
    back as that float.  Python writes floats of 1e16 and more this way; other text is
    returned as it is (the common case: one substring test).
    """
    return _STRING_OR_BIG_FLOAT.sub(_expand, text) if "e+" in text else text


def _floats_at(rows: Sequence[Row], at: int) -> list[Row]:
    return [(*row[:at], keep_floats(row[at]), *row[at + 1:]) for row in rows]


def keep_floats_in(e: EncodedCommit) -> None:
    """Apply :func:`keep_floats` to every JSON column of ``e`` that may hold a number."""
    row = e.instance
    if "e+" in row[4]:
        e.instance = (*row[:4], keep_floats(row[4]), *row[5:])
    if any("e+" in t[8] or "e+" in t[13] for t in e.transitions):
        e.transitions = _floats_at(_floats_at(e.transitions, 8), 13)
    if e.plain:
        return
    e.effects = _floats_at(e.effects, 3)
    e.timers_set = _floats_at(e.timers_set, 3)
    if e.mailbox is not None:
        e.mailbox = _floats_at([e.mailbox], 3)[0]
    e.dead_letters = _floats_at(e.dead_letters, 3)


def update_params(e: EncodedCommit) -> Row:
    """``update_instance``'s parameters: the new columns, then the id and the rev read."""
    row = e.instance
    return (*row[1:9], row[10], row[0], e.expected_rev)


def effect_params(row: Row) -> Row:
    """``insert_effect``'s parameters: the flag ``at_most_once`` as a boolean, not 0/1."""
    return (*row[:_AT_MOST_ONCE], bool(row[_AT_MOST_ONCE]), *row[_AT_MOST_ONCE + 1:])


def finish_params(finish: tuple[str, str | None, str | None, str]) -> dict[str, Any]:
    """``finish_effect``'s parameters from the codec's ``(status, error, owner, key)``."""
    status, error, owner, key = finish
    return {"status": status, "error": error, "owner": owner, "key": key}


def release_params(release: tuple[float, str | None, int, str | None, str]) -> dict[str, Any]:
    """``release_open_effect``'s from the codec's ``(available_at, error, refund, owner, key)``."""
    available_at, error, refund, owner, key = release
    return {"available_at": available_at, "error": error, "refund": int(refund),
            "owner": owner, "key": key}


def columns(names: Sequence[str], rows: Sequence[Row]) -> dict[str, list[Any]]:
    """The rows as one list per column, for the ``unnest`` of a statement writing many rows."""
    return {name: [row[i] for row in rows] for i, name in enumerate(names)}


def _has_nul(text: str) -> bool:
    return _NUL in text


def _not_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _where_in_json(text: str, bad: Callable[[str], bool]) -> str | None:
    """The path of the first string (or key) of the JSON ``text`` that is ``bad``, if any."""
    stack: list[tuple[str, Any]] = [("$", json.loads(text))]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if bad(value):
                return path
        elif isinstance(value, dict):
            for key, child in value.items():
                if bad(key):
                    return f"{path} (a key)"
                stack.append((f"{path}.{key}", child))
        elif isinstance(value, list):
            stack += [(f"{path}[{i}]", child) for i, child in enumerate(value)]
    return None


def _check_rows(iid: str, what: str, rows: Iterable[Sequence[Any]],
                json_at: dict[int, str], names: Sequence[str] = ()) -> None:
    for row in rows:
        for position, value in enumerate(row):
            if type(value) is not str:
                continue
            if not value.isascii() and _not_utf8(value):
                _refuse_at(iid, what, position, value, json_at, names, _not_utf8,
                           "text that is not valid Unicode (a lone surrogate), which no "
                           "database can store")
            if _NUL in value or _NUL_ESCAPE in value:
                _refuse_at(iid, what, position, value, json_at, names, _has_nul,
                           "the character U+0000 (NUL), which PostgreSQL cannot store in text "
                           "or jsonb")


def _refuse_at(iid: str, what: str, position: int, value: str, json_at: dict[int, str],
               names: Sequence[str], bad: Callable[[str], bool], holds: str) -> None:
    r"""Raise :class:`UnstorableValue` naming the column (and JSON path) of a ``bad`` value.

    Returns when the value is fine after all: in a JSON column, the six characters
    ``\u0000`` may be an escaped backslash followed by ``u0000``, which is plain text.
    """
    column = json_at.get(position)
    if column is None:
        if not bad(value):
            return
        name = names[position] if position < len(names) else f"column {position + 1}"
        where = f"{what} {name}"
    else:
        path = _where_in_json(value, bad)
        if path is None:
            return
        where = f"{what} {column} {path}"
    raise UnstorableValue(f"instance {iid!r} {where.strip()}",
                          f"holds {holds}; nothing was stored. Remove it, or encode the value "
                          f"(base64, say) before it reaches the data")


def check_storable(e: EncodedCommit) -> None:
    """Refuse ``e`` whole if a value of it is one PostgreSQL cannot hold (U+0000 anywhere)."""
    iid = e.instance[0]
    _check_rows(iid, "", [e.instance], _INSTANCE_JSON, INSTANCE_ARRAYS)
    _check_rows(iid, "transition", e.transitions, _TRANSITION_JSON, TRANSITION_ARRAYS)
    if e.plain:
        return
    _check_rows(iid, "effect", e.effects, _EFFECT_JSON)
    _check_rows(iid, "timer", e.timers_set, _TIMER_JSON)
    _check_rows(iid, "timer", e.timers_cancelled, {})
    if e.timer_fired is not None:
        _check_rows(iid, "fired timer", [e.timer_fired], {})
    if e.mailbox is not None:
        _check_rows(iid, "mailbox", [e.mailbox], _MAILBOX_JSON)
    _check_rows(iid, "dead letter", e.dead_letters, _LETTER_JSON)
    for row in (e.finish, e.release):
        if row is not None:
            _check_rows(iid, "effect outcome", [row], {})
    _check_rows(iid, "reopened effect", e.reopened, {})
