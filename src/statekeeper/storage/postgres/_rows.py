r"""Rows as PostgreSQL takes them, by column name: what only this backend needs on top of them.

Rows are built and read the same way as in every store.  The shared encoder
(``storage/_codec.py``) builds each row by column name from its table's description
(:mod:`statekeeper.storage.tables`) for the PostgreSQL adapter
(:data:`statekeeper.storage.adapters.POSTGRES`): JSON as text, which the server casts to
``jsonb``, booleans as ``bool``.  The shared decoders read rows through the same adapter
(:data:`ROWS`): every ``SELECT`` of ``queries.sql`` lists a table's described columns, uncast,
and psycopg hands ``jsonb`` back parsed and ``boolean`` as ``bool``.  What is here is what only
PostgreSQL needs, each part keyed by the column names of the descriptions:

* :func:`prepare`: a commit holding a value PostgreSQL cannot store is refused whole, and JSON
  numbers are written so that ``jsonb`` keeps them floats (:func:`keep_floats`).
* :func:`arrays` and :func:`update_params`: a group's rows as one array per column, and an
  instance update's parameters, by column name.

What PostgreSQL cannot hold that SQLite can: the character U+0000 (NUL), in a text column or
in a jsonb string (``\u0000``).  A commit holding one, or text that is no valid Unicode (a
lone surrogate, which no UTF-8 database holds), is refused whole with
:class:`~statekeeper.core.errors.UnstorableValue`, naming where it is, before anything is sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ...core.errors import UnstorableValue
from .._codec import FINISH, RELEASE, REOPEN, TIMER_KEY, EncodedCommit, Row
from .._decode import RowDecoders
from ..adapters import POSTGRES
from ..tables import DEAD_LETTERS, INSTANCES, MAILBOX, OUTBOX, TIMERS, TRANSITIONS, Table

__all__ = [
    "ROWS",
    "arrays",
    "finish_params",
    "keep_floats",
    "prepare",
    "release_params",
    "update_params",
]

#: the decoders of the rows the PostgreSQL store reads (jsonb parsed, booleans as bool)
ROWS = RowDecoders(POSTGRES)
_ID = INSTANCES.written_at("id")
_NUL, _NUL_ESCAPE = "\x00", "\\u0000"
#: JSON shapes that never hold a number (state ids, error messages, labels)
_NO_NUMBERS = frozenset({"names", "strings", "labels"})


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


def arrays(table: Table, rows: Sequence[Row]) -> dict[str, list[Any]]:
    """``rows`` as ``table``'s encoder writes them, one list per column, keyed by its name.

    The parameters of a statement that writes many rows from ``unnest`` of one array per
    column (``insert_instances``, ``insert_transitions``).
    """
    names = table.written
    if not rows:
        return {name: [] for name in names}
    return dict(zip(names, map(list, zip(*rows, strict=True)), strict=True))


def update_params(e: EncodedCommit) -> dict[str, Any]:
    """``update_instance``'s parameters: the instance row's columns by name, and the rev read."""
    return {**dict(zip(INSTANCES.written, e.instance, strict=True)), "expected": e.expected_rev}


def finish_params(finish: tuple[str, str | None, str | None, str]) -> dict[str, Any]:
    """``finish_effect``'s parameters by name."""
    return dict(zip(FINISH, finish, strict=True))


def release_params(release: tuple[float, str | None, int, str | None, str]) -> dict[str, Any]:
    """``release_open_effect``'s parameters by name."""
    return dict(zip(RELEASE, release, strict=True))


@dataclass(frozen=True)
class _Plan:
    """What :func:`prepare` checks in one kind of row: its column names, which hold JSON."""

    #: how a message names such a row ("" for the instance row: the instance is named anyway)
    what: str
    names: tuple[str, ...]
    #: the positions of the JSON columns
    json: frozenset[int] = frozenset()
    #: the positions of the JSON columns that may hold a number
    numbers: tuple[int, ...] = ()


def _plan(what: str, table: Table) -> _Plan:
    kinds = {c.name: c for c in (*table.columns, *table.write_only)}
    json_at = [i for i, n in enumerate(table.written) if kinds[n].kind == "json"]
    return _Plan(what, table.written, frozenset(json_at),
                 tuple(i for i in json_at if kinds[table.written[i]].shape not in _NO_NUMBERS))


_INSTANCE, _TRANSITION = _plan("", INSTANCES), _plan("transition", TRANSITIONS)
_EFFECT, _TIMER = _plan("effect", OUTBOX), _plan("timer", TIMERS)
_MAILBOX, _LETTER = _plan("mailbox", MAILBOX), _plan("dead letter", DEAD_LETTERS)
_CANCELLED, _FIRED = _Plan("timer", TIMER_KEY), _Plan("fired timer", TIMER_KEY)
_OUTCOME_FINISH, _OUTCOME_RELEASE = _Plan("effect outcome", FINISH), _Plan("effect outcome",
                                                                           RELEASE)
_REOPENED = _Plan("reopened effect", REOPEN)


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


def _storable(iid: str, plan: _Plan, row: Row) -> Row:
    """``row`` as PostgreSQL stores it; :class:`UnstorableValue` for a value it cannot hold."""
    for at, value in enumerate(row):
        if type(value) is not str:
            continue
        if not value.isascii() and _not_utf8(value):
            _refuse(iid, plan, at, value, _not_utf8,
                    "text that is not valid Unicode (a lone surrogate), which no database can "
                    "store")
        if _NUL in value or _NUL_ESCAPE in value:
            _refuse(iid, plan, at, value, _has_nul,
                    "the character U+0000 (NUL), which PostgreSQL cannot store in text or jsonb")
    numbers = plan.numbers
    for i in numbers:
        if "e+" in row[i]:
            return tuple(keep_floats(v) if i in numbers else v for i, v in enumerate(row))
    return row


def _refuse(iid: str, plan: _Plan, at: int, value: str, bad: Callable[[str], bool],
            holds: str) -> None:
    r"""Raise :class:`UnstorableValue` naming the column (and JSON path) of a ``bad`` value.

    Returns when the value is fine after all: in a JSON column, the six characters
    ``\u0000`` may be an escaped backslash followed by ``u0000``, which is plain text.
    """
    if at in plan.json:
        path = _where_in_json(value, bad)
        if path is None:
            return
        where = f"{plan.what} {plan.names[at]} {path}"
    elif bad(value):
        where = f"{plan.what} {plan.names[at]}"
    else:
        return
    raise UnstorableValue(f"instance {iid!r} {where.strip()}",
                          f"holds {holds}; nothing was stored. Remove it, or encode the value "
                          f"(base64, say) before it reaches the data")


def prepare(e: EncodedCommit) -> None:
    """Make ``e``'s rows what PostgreSQL stores, in place, or refuse ``e`` whole.

    Raises:
        UnstorableValue: a value PostgreSQL cannot hold (U+0000, a lone surrogate), named by
            its column and JSON path; nothing is stored.

    """
    iid = e.instance[_ID]
    e.instance = _storable(iid, _INSTANCE, e.instance)
    e.transitions = [_storable(iid, _TRANSITION, r) for r in e.transitions]
    if e.plain:
        return
    e.effects = [_storable(iid, _EFFECT, r) for r in e.effects]
    e.timers_set = [_storable(iid, _TIMER, r) for r in e.timers_set]
    if e.mailbox is not None:
        e.mailbox = _storable(iid, _MAILBOX, e.mailbox)
    e.dead_letters = [_storable(iid, _LETTER, r) for r in e.dead_letters]
    checked: list[tuple[_Plan, Sequence[Row]]] = [
        (_CANCELLED, e.timers_cancelled), (_REOPENED, e.reopened),
        (_FIRED, [e.timer_fired] if e.timer_fired is not None else []),
        (_OUTCOME_FINISH, [e.finish] if e.finish is not None else []),
        (_OUTCOME_RELEASE, [e.release] if e.release is not None else [])]
    for plan, rows in checked:
        for row in rows:
            _storable(iid, plan, row)
