"""Decoding stored rows into records: every column is checked, so a corrupted row is refused.

A row that does not decode raises :class:`~statekeeper.storage.IntegrityError` naming its
table and key; nothing is ever half-read or silently repaired.  Shared by every backend: each
table's decoder is made from its description (:mod:`statekeeper.storage.tables`, which says
what each column must hold) and a backend's adapter (how it stores JSON and booleans), and
builds its record by keyword, column name for field name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar, cast

from .adapters import SQLITE, Adapter
from .base import IntegrityError
from .records import (
    CorruptedRow,
    DeadLetterRecord,
    EffectRecord,
    InstanceRecord,
    MailboxRecord,
    PolicyStateRecord,
    ShadowRecord,
    TimerRecord,
    TransitionRecord,
)
from .tables import (
    DEAD_LETTERS,
    INSTANCES,
    MAILBOX,
    MAILBOX_FINGERPRINT,
    OUTBOX,
    POLICY_STATE,
    SHADOW_LOG,
    TABLES,
    TIMERS,
    TRANSITIONS,
    Column,
    Table,
)

__all__ = [
    "DECODERS",
    "SQLITE_ROWS",
    "RowDecoders",
    "decode_dead_letter",
    "decode_effect",
    "decode_instance",
    "decode_mailbox",
    "decode_policy_state",
    "decode_problems",
    "decode_shadow",
    "decode_timer",
    "decode_transition",
    "decoded",
    "decoded_or_report",
]

Row = tuple[Any, ...]


T = TypeVar("T")


class _Corrupt(Exception):
    pass


Check = Callable[[Any, str], Any]


def _text(value: Any, column: str) -> str:
    if type(value) is not str:
        raise _Corrupt(f"{column} is {type(value).__name__}, not text")
    return value


def _int(value: Any, column: str) -> int:
    if type(value) is not int:
        raise _Corrupt(f"{column} is {type(value).__name__}, not an integer")
    return value


def _num(value: Any, column: str) -> float:
    if type(value) is not float and type(value) is not int:
        raise _Corrupt(f"{column} is {type(value).__name__}, not a number")
    if value - value:  # NaN or an infinity (x - x is 0 for every finite number): a timer
        raise _Corrupt(f"{column} is {value!r}, not a finite number")  # due never would fire
    return float(value)


def _choice(allowed: frozenset[str]) -> Check:
    def check(value: Any, column: str) -> Any:
        if value not in allowed:
            raise _Corrupt(f"{column} is {value!r}, not one of {sorted(allowed)}")
        return value
    return check


def _object(value: Any, column: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Corrupt(f"{column} is not a JSON object")
    return value


def _labels(value: Any, column: str) -> dict[str, str]:
    if any(type(v) is not str for v in _object(value, column).values()):
        raise _Corrupt(f"{column} has a non-string value")
    return cast(dict[str, str], value)


def _list(value: Any, column: str) -> list[Any]:
    if not isinstance(value, list):
        raise _Corrupt(f"{column} is not a JSON list")
    return value


def _strings(value: Any, column: str) -> list[str]:
    if not isinstance(value, list) or any(type(x) is not str for x in value):
        raise _Corrupt(f"{column} is not a JSON list of strings")
    return cast(list[str], value)


def _names(value: Any, column: str) -> tuple[str, ...]:
    return tuple(_strings(value, column))


_SHAPES: dict[str, Check | None] = {"any": None, "object": _object, "labels": _labels,
                                    "list": _list, "strings": _strings, "names": _names}
_KINDS: dict[str, Check] = {"text": _text, "int": _int, "real": _num}


def _check(column: Column, adapter: Adapter) -> Check:
    """The check (and conversion) of one column's stored value."""
    check: Check
    if column.kind == "json":
        shape, json_value = _SHAPES[column.shape], adapter.json_value

        def check(value: Any, name: str) -> Any:
            try:
                decoded = json_value(value)
            except ValueError as exc:
                raise _Corrupt(f"{name} {exc}") from None
            return decoded if shape is None else shape(decoded, name)
    elif column.kind == "bool":
        bool_value = adapter.bool_value

        def check(value: Any, name: str) -> Any:
            try:
                return bool_value(value)
            except ValueError as exc:
                raise _Corrupt(f"{name} {exc}") from None
    elif column.choices is not None:
        check = _choice(column.choices)
    else:
        check = _KINDS[column.kind]
    if not column.nullable:
        return check
    inner = check

    def nullable(value: Any, name: str) -> Any:
        return None if value is None else inner(value, name)
    return nullable


def _with_fingerprint(values: dict[str, Any]) -> dict[str, Any]:
    """A mailbox row's ``result`` keeps its request's fingerprint (see MailboxRecord)."""
    fingerprint = values["result"].pop(MAILBOX_FINGERPRINT, None)
    if fingerprint is not None and type(fingerprint) is not str:
        raise _Corrupt(f"{MAILBOX_FINGERPRINT} is {type(fingerprint).__name__}, not text")
    values["fingerprint"] = fingerprint
    return values


def _decoder(table: Table, record: Callable[..., T], adapter: Adapter,
             finish: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
             ) -> Callable[[Row], T]:
    """The decoder of ``table``'s rows into ``record`` (built by keyword: column names)."""
    plan = [(c.name, _check(c, adapter)) for c in table.columns]
    width, name = table.width, table.name
    named = [(n, table.at(n)) for n in table.named_by]

    def decode(row: Row) -> T:
        try:
            if len(row) != width:
                raise _Corrupt(f"{len(row)} columns, expected {width}")
            values = {column: check(value, column)
                      for (column, check), value in zip(plan, row, strict=True)}
            return record(**(values if finish is None else finish(values)))
        except _Corrupt as exc:
            key = ", ".join(f"{n} {row[i]!r}" if i < len(row) else f"{n} ?" for n, i in named)
            raise IntegrityError(
                f"corrupted row in table {name!r} ({key}): {exc}; refusing to read it"
            ) from None
    decode.__doc__ = f"Decode a row of {name}; raise IntegrityError if it is corrupted."
    return decode


def _with_entered(decode: Callable[[Row], InstanceRecord], width: int,
                  ) -> Callable[[Row], InstanceRecord]:
    """Decode an instance row read by ``load``: its columns, then the kept ``entered_at``.

    The record is the decoder's own, not yet seen by anyone: ``entered_at`` is set on it
    (a frozen record has no cheaper way than a copy, and ``load`` is on the engine's path).
    """
    def decode_loaded(row: Row) -> InstanceRecord:
        record = decode(row[:width])
        entered = row[width] if len(row) > width else None
        if entered is not None:
            try:
                entered = _num(entered, "entered_at")
            except _Corrupt as exc:
                raise IntegrityError(f"corrupted row in table 'instances' (id {row[0]!r}): "
                                     f"{exc}; refusing to read it") from None
            object.__setattr__(record, "entered_at", entered)
        return record
    return decode_loaded


class RowDecoders:
    """The decoder of every table's rows, for the backend ``adapter`` speaks for."""

    def __init__(self, adapter: Adapter) -> None:
        self.adapter = adapter
        self.instance = _decoder(INSTANCES, InstanceRecord, adapter)
        #: a row of ``load_instance(s)``: the instance's columns, then its kept entered_at
        self.loaded_instance = _with_entered(self.instance, INSTANCES.width)
        self.transition = _decoder(TRANSITIONS, TransitionRecord, adapter)
        self.mailbox = _decoder(MAILBOX, MailboxRecord, adapter, _with_fingerprint)
        self.effect = _decoder(OUTBOX, EffectRecord, adapter)
        self.timer = _decoder(TIMERS, TimerRecord, adapter)
        self.dead_letter = _decoder(DEAD_LETTERS, DeadLetterRecord, adapter)
        self.policy_state = _decoder(POLICY_STATE, PolicyStateRecord, adapter)
        self.shadow = _decoder(SHADOW_LOG, ShadowRecord, adapter)
        #: every decoder by its table's name
        self.by_table: dict[str, Callable[[Row], object]] = {
            "instances": self.instance, "transitions": self.transition,
            "mailbox": self.mailbox, "outbox": self.effect, "timers": self.timer,
            "dead_letters": self.dead_letter, "policy_state": self.policy_state,
            "shadow_log": self.shadow}

    def problems(self, table: str, rows: Iterable[Sequence[Any]]) -> list[str]:
        """Try to decode every row of ``table``; the message of each one refused."""
        decode = self.by_table[table]
        problems = []
        for row in rows:
            try:
                decode(tuple(row))
            except IntegrityError as exc:
                problems.append(str(exc))
        return problems


#: the decoders of the SQLite-shaped rows the SQLite and memory stores keep
SQLITE_ROWS = RowDecoders(SQLITE)
decode_instance: Callable[[Row], InstanceRecord] = SQLITE_ROWS.instance
decode_loaded_instance: Callable[[Row], InstanceRecord] = SQLITE_ROWS.loaded_instance
decode_transition: Callable[[Row], TransitionRecord] = SQLITE_ROWS.transition
decode_mailbox: Callable[[Row], MailboxRecord] = SQLITE_ROWS.mailbox
decode_effect: Callable[[Row], EffectRecord] = SQLITE_ROWS.effect
decode_timer: Callable[[Row], TimerRecord] = SQLITE_ROWS.timer
decode_dead_letter: Callable[[Row], DeadLetterRecord] = SQLITE_ROWS.dead_letter
decode_policy_state: Callable[[Row], PolicyStateRecord] = SQLITE_ROWS.policy_state
decode_shadow: Callable[[Row], ShadowRecord] = SQLITE_ROWS.shadow
DECODERS = SQLITE_ROWS.by_table
decode_problems = SQLITE_ROWS.problems


def decoded(decode: Callable[[Row], T], row: Row) -> tuple[T] | tuple[()]:
    """``(decode(row),)``, or ``()`` if the row is corrupted.

    For reads of many rows that leave such a row out: reading it alone raises
    :class:`IntegrityError` and says why.
    """
    try:
        return (decode(row),)
    except IntegrityError:
        return ()


def decoded_or_report(decode: Callable[[Row], T], row: Row, table: str,
                      corrupted: list[CorruptedRow] | None) -> tuple[T] | tuple[()]:
    """``(decode(row),)``; a corrupted row is appended to ``corrupted`` and left out.

    With ``corrupted`` ``None`` the row's :class:`IntegrityError` is raised instead.
    """
    try:
        return (decode(row),)
    except IntegrityError as exc:
        if corrupted is None:
            raise
        at = TABLES[table].at(TABLES[table].named_by[0])
        key = row[at] if len(row) > at and type(row[at]) is str else "?"
        corrupted.append(CorruptedRow(table, key, str(exc)))
        return ()
