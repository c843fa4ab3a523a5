"""Decoding stored rows into records: every column is checked, so a corrupted row is refused.

A row that does not decode raises :class:`~statekeeper.storage.IntegrityError` naming its
table and key; nothing is ever half-read or silently repaired.  Shared by every backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar, cast

from ._codec import (
    EFFECT_STATUSES,
    INSTANCE_STATUSES,
    LETTER_KINDS,
    MAILBOX_FINGERPRINT,
    OUTCOMES,
    POLICIES,
    Row,
    loads,
)
from .base import IntegrityError
from .records import (
    CorruptedRow,
    DeadLetterRecord,
    EffectRecord,
    InstanceRecord,
    MailboxRecord,
    PolicyStateRecord,
    TimerRecord,
    TransitionRecord,
)

__all__ = [
    "DECODERS",
    "decode_dead_letter",
    "decode_effect",
    "decode_instance",
    "decode_mailbox",
    "decode_policy_state",
    "decode_problems",
    "decode_timer",
    "decode_transition",
    "decoded",
    "decoded_or_report",
]


T = TypeVar("T")

# -- decoding: every column is checked, so a corrupted row is refused, never half-read ----------


class _Corrupt(Exception):
    pass


def _text(value: Any, column: str) -> str:
    if type(value) is not str:
        raise _Corrupt(f"{column} is {type(value).__name__}, not text")
    return value


def _opt_text(value: Any, column: str) -> str | None:
    return None if value is None else _text(value, column)


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


def _opt_num(value: Any, column: str) -> float | None:
    return None if value is None else _num(value, column)


def _choice(value: Any, column: str, allowed: frozenset[Any]) -> Any:
    if value not in allowed:
        raise _Corrupt(f"{column} is {value!r}, not one of {sorted(allowed)}")
    return value


def _json(value: Any, column: str) -> Any:
    try:
        return loads(_text(value, column))
    except ValueError as exc:
        raise _Corrupt(f"{column} is not valid JSON ({exc})") from None


def _object(value: Any, column: str) -> dict[str, Any]:
    decoded = _json(value, column)
    if not isinstance(decoded, dict):
        raise _Corrupt(f"{column} is not a JSON object")
    return decoded


def _strings(value: Any, column: str) -> list[str]:
    decoded = _json(value, column)
    if not isinstance(decoded, list) or any(type(x) is not str for x in decoded):
        raise _Corrupt(f"{column} is not a JSON list of strings")
    return cast(list[str], decoded)


def _list(value: Any, column: str) -> list[Any]:
    decoded = _json(value, column)
    if not isinstance(decoded, list):
        raise _Corrupt(f"{column} is not a JSON list")
    return decoded


def _decoder(table: str, key: Callable[[Row], object], width: int) -> Callable[
        [Callable[[Row], Any]], Callable[[Row], Any]]:
    def wrap(build: Callable[[Row], Any]) -> Callable[[Row], Any]:
        def decode(row: Row) -> Any:
            try:
                if len(row) != width:
                    raise _Corrupt(f"{len(row)} columns, expected {width}")
                return build(row)
            except _Corrupt as exc:
                raise IntegrityError(
                    f"corrupted row in table {table!r} ({key(row)}): {exc}; refusing to read it"
                ) from None
        decode.__doc__ = f"Decode a row of {table}; raise IntegrityError if it is corrupted."
        return decode
    return wrap


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
        key = row[0] if row and type(row[0]) is str else "?"
        corrupted.append(CorruptedRow(table, key, str(exc)))
        return ()


def _k(*names_at: tuple[str, int]) -> Callable[[Row], str]:
    return lambda row: ", ".join(f"{n} {row[i]!r}" if i < len(row) else f"{n} ?"
                                 for n, i in names_at)


@_decoder("instances", _k(("id", 0)), 11)
def _instance(r: Row) -> InstanceRecord:
    labels = _object(r[8], "labels")
    if any(type(v) is not str for v in labels.values()):
        raise _Corrupt("labels has a non-string value")
    return InstanceRecord(
        id=_text(r[0], "id"), chart=_text(r[1], "chart"), version=_text(r[2], "version"),
        hash=_text(r[3], "hash"), snapshot=_object(r[4], "snapshot"),
        configuration=tuple(_strings(r[5], "configuration")),
        status=_choice(r[6], "status", INSTANCE_STATUSES), rev=_int(r[7], "rev"),
        labels=labels, created_at=_num(r[9], "created_at"), updated_at=_num(r[10], "updated_at"))


@_decoder("transitions", _k(("id", 0), ("instance", 1), ("seq", 2)), 15)
def _transition(r: Row) -> TransitionRecord:
    return TransitionRecord(
        id=_int(r[0], "id"), instance=_text(r[1], "instance"), seq=_int(r[2], "seq"),
        event=_text(r[3], "event"), source=tuple(_strings(r[4], "source")),
        target=tuple(_strings(r[5], "target")), chart_version=_text(r[6], "chart_version"),
        outcome=_choice(r[7], "outcome", OUTCOMES), at=_num(r[8], "at"),
        data=_json(r[9], "data"), actor=_opt_text(r[10], "actor"),
        trace_id=_opt_text(r[11], "trace_id"), reason=_opt_text(r[12], "reason"),
        idempotency_key=_opt_text(r[13], "idempotency_key"),
        microsteps=_list(r[14], "microsteps"))


@_decoder("mailbox", _k(("instance", 0), ("key", 1)), 5)
def _mailbox(r: Row) -> MailboxRecord:
    result = _object(r[3], "result")
    fingerprint = result.pop(MAILBOX_FINGERPRINT, None)
    return MailboxRecord(instance=_text(r[0], "instance"), key=_text(r[1], "key"),
                         event=_text(r[2], "event"), result=result, at=_num(r[4], "at"),
                         fingerprint=_opt_text(fingerprint, MAILBOX_FINGERPRINT))


@_decoder("outbox", _k(("key", 1)), 14)
def _effect(r: Row) -> EffectRecord:
    return EffectRecord(
        id=_int(r[0], "id"), key=_text(r[1], "key"), instance=_text(r[2], "instance"),
        name=_text(r[3], "name"), args=_json(r[4], "args"),
        status=_choice(r[5], "status", EFFECT_STATUSES), attempts=_int(r[6], "attempts"),
        available_at=_num(r[7], "available_at"), lease_owner=_opt_text(r[8], "lease_owner"),
        lease_until=_opt_num(r[9], "lease_until"),
        at_most_once=bool(_choice(r[10], "at_most_once", frozenset({0, 1}))),
        last_error=_opt_text(r[11], "last_error"), errors=_strings(r[12], "errors"),
        created_at=_num(r[13], "created_at"))


@_decoder("timers", _k(("instance", 0), ("timer_id", 1)), 6)
def _timer(r: Row) -> TimerRecord:
    return TimerRecord(instance=_text(r[0], "instance"), timer_id=_text(r[1], "timer_id"),
                       due=_num(r[2], "due"), event=_object(r[3], "event"),
                       target=_opt_text(r[4], "target"),
                       policy=_choice(r[5], "policy", POLICIES))


@_decoder("dead_letters", _k(("id", 0)), 7)
def _dead_letter(r: Row) -> DeadLetterRecord:
    return DeadLetterRecord(id=_int(r[0], "id"), kind=_choice(r[1], "kind", LETTER_KINDS),
                            instance=_text(r[2], "instance"), key=_text(r[3], "key"),
                            payload=_object(r[4], "payload"), errors=_strings(r[5], "errors"),
                            at=_num(r[6], "at"))


decode_instance: Callable[[Row], InstanceRecord] = _instance
decode_transition: Callable[[Row], TransitionRecord] = _transition
decode_mailbox: Callable[[Row], MailboxRecord] = _mailbox
decode_effect: Callable[[Row], EffectRecord] = _effect
decode_timer: Callable[[Row], TimerRecord] = _timer
decode_dead_letter: Callable[[Row], DeadLetterRecord] = _dead_letter


@_decoder("policy_state", _k(("key", 0)), 4)
def _policy_state(r: Row) -> PolicyStateRecord:
    return PolicyStateRecord(key=_text(r[0], "key"), value=_object(r[1], "value"),
                             version=_int(r[2], "version"), updated_at=_num(r[3], "updated_at"))


decode_policy_state: Callable[[Row], PolicyStateRecord] = _policy_state

DECODERS: dict[str, Callable[[Row], object]] = {
    "instances": decode_instance, "transitions": decode_transition, "mailbox": decode_mailbox,
    "outbox": decode_effect, "timers": decode_timer, "dead_letters": decode_dead_letter,
    "policy_state": decode_policy_state,
}


def decode_problems(table: str, rows: Iterable[Sequence[Any]]) -> list[str]:
    """Try to decode every row of ``table``; the message of each one refused."""
    decode = DECODERS[table]
    problems = []
    for row in rows:
        try:
            decode(tuple(row))
        except IntegrityError as exc:
            problems.append(str(exc))
    return problems
