"""Records to rows, shared by every backend (``_decode`` turns rows back into records).

Every store holds rows in the same shape (the SQL column order below) with JSON payloads as
text, and decodes them with the same functions.  So the in-memory store is exactly as strict
as SQLite: a tuple comes back as a list, a value JSON cannot encode is refused on write, and a
corrupted row is refused on read with an :class:`IntegrityError` naming its table and key.
Nothing here repairs a row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from ..core._records import positional_constructor
from ..core.errors import InvalidPayload, LimitExceeded, StatekeeperError, UnstorableValue
from ..core.limits import Limits
from ..core.payload import check_payload
from .base import StoreError
from .records import (
    Commit,
    FrozenDict,
    FrozenList,
)

__all__ = [
    "EFFECT_STATUSES",
    "INSTANCE_STATUSES",
    "LETTER_KINDS",
    "OPEN_EFFECT",
    "OUTCOMES",
    "POLICIES",
    "EncodedCommit",
    "MalformedCommit",
    "Row",
    "dumps",
    "dumps_exact",
    "encode_commit",
    "loads",
    "why_not_json",
]

Row = tuple[Any, ...]



def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not standard JSON (no statekeeper writes it)")


# NaN and the infinities are refused on read as on write: a row holding them was edited by
# hand or by another tool.  parse_constant runs only when one appears, so it costs nothing.
loads = json.JSONDecoder(parse_constant=_refuse_constant).decode
# allow_nan=False: NaN and the infinities are refused (a ValueError), never written as the
# non-standard ``NaN`` that other JSON readers reject.
_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False,
                            allow_nan=False)
# json.dumps builds a new C encoder on every call (~2 us here, more than encoding a short list);
# one C encoder without a circular-reference memo is reusable.  A cycle still fails, with a
# RecursionError instead of a ValueError.
try:
    _c_encoder: Any = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
        None, _encoder.default, json.encoder.encode_basestring, None, ":", ",", False, False,
        False)
    if "".join(_c_encoder({"a": [1, None]}, 0)) != '{"a":[1,null]}':  # pragma: no cover
        _c_encoder = None
except (AttributeError, TypeError):  # pragma: no cover - another Python: the plain encoder
    _c_encoder = None


def dumps(value: Any) -> str:
    """``value`` as compact JSON text (no spaces, non-ASCII kept); NaN and infinities refused."""
    if _c_encoder is None:  # pragma: no cover - CPython always has the C encoder
        return _encoder.encode(value)
    return "".join(_c_encoder(value, 0))


_LEAVES = frozenset({str, int, float, bool, type(None)})


def dumps_exact(value: Any) -> str:
    """``value`` as JSON that reads back as the same value, else ``TypeError``/``ValueError``.

    The encoder alone writes ``{1: 2}`` as ``{"1": 2}`` and a lone surrogate as text no UTF-8
    store can hold.  So after encoding (which refuses NaN, sets, objects and cycles) this
    checks that the text is valid Unicode and walks the containers for keys that are not
    strings.  It runs where a step's data changed (a snapshot row not encoded before, effect
    arguments, timer events), never for rows whose text is reused.
    """
    text = dumps(value)
    if not text.isascii():
        text.encode("utf-8")  # UnicodeEncodeError (a ValueError) on a lone surrogate
    leaves = _LEAVES
    stack = [value]
    pop, push = stack.pop, stack.append
    while stack:
        item = pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if type(key) is not str and not isinstance(key, str):
                    raise TypeError(f"key {key!r} is not a string")
                if type(child) not in leaves:
                    push(child)
        elif isinstance(item, list | tuple):
            for child in item:
                if type(child) not in leaves:
                    push(child)
    return text


_names: dict[tuple[str, ...], str] = {}
_micro_texts: dict[int, tuple[list[Any], str]] = {}


def _dump_micros(micros: list[Any]) -> str:
    """A transition's microsteps as JSON, cached for a :class:`FrozenList`.

    Keyed by the list's identity, holding the list itself so the id cannot be reused while
    the entry lives.
    """
    if not micros:
        return "[]"
    if type(micros) is not FrozenList:
        return dumps(micros)
    hit = _micro_texts.get(id(micros))
    if hit is not None and hit[0] is micros:
        return hit[1]
    text = dumps(micros)
    if len(_micro_texts) >= 4096:
        _micro_texts.clear()
    _micro_texts[id(micros)] = (micros, text)
    return text


def _dump_snapshot(snapshot: dict[str, Any]) -> str:
    """An instance's snapshot as JSON; kept on a :class:`FrozenDict` after the first time."""
    if type(snapshot) is not FrozenDict:
        return dumps_exact(snapshot)
    try:
        return snapshot.text
    except AttributeError:
        text = snapshot.text = dumps_exact(snapshot)
        return text


def _dump_names(names: tuple[str, ...]) -> str:
    """Configurations and transition sources repeat endlessly: encode each tuple once."""
    cacheable = type(names) is tuple
    text = _names.get(names) if cacheable else None
    if text is None:
        if any(type(n) is not str for n in names):
            raise ValueError(f"state ids must be strings: {names!r}")
        text = dumps(names)
        if not cacheable:
            return text
        if len(_names) > 4096:
            _names.clear()
        _names[names] = text
    return text

INSTANCE_STATUSES = frozenset({"active", "done"})
OUTCOMES = frozenset({"applied", "ignored", "rejected"})
EFFECT_STATUSES = frozenset({"pending", "running", "done", "failed", "dead"})
OPEN_EFFECT = frozenset({"pending", "running"})
CLOSED_EFFECT = EFFECT_STATUSES - OPEN_EFFECT
POLICIES = frozenset({"default", "fire_late", "skip"})
LETTER_KINDS = frozenset({"effect", "event", "row"})

# Column order of every table (``SELECT`` order; inserts omit a store-assigned ``id``).
# instances:    id chart version hash snapshot configuration status rev labels created_at updated_at
# transitions:  id instance seq event source target chart_version outcome at data actor trace_id
#               reason idempotency_key microsteps
# mailbox:      instance key event result at
# outbox:       id key instance name args status attempts available_at lease_owner lease_until
#               at_most_once last_error errors created_at
# timers:       instance timer_id due event target policy (then, not selected: set_rev position)
# dead_letters: id kind instance key payload errors at
I_REV, I_CREATED = 7, 9
#: the key of a mailbox row's ``result`` object that holds its request's fingerprint
MAILBOX_FINGERPRINT = "request_fingerprint"


@dataclass(slots=True)
class EncodedCommit:
    """A validated commit as rows, encoded before any lock is taken.

    ``plain`` says the commit has no rows but its instance and transition rows (a plain step,
    the common case); the other sequences are then one shared empty tuple, never mutated.
    """

    commit: Commit
    instance: Row
    expected_rev: int | None
    transitions: list[Row]
    effects: Sequence[Row] = ()
    timers_set: Sequence[Row] = ()
    timers_cancelled: Sequence[tuple[str, str]] = ()
    timer_fired: tuple[str, str] | None = None
    finish: tuple[str, str | None, str] | None = None  # (status, error, key)
    mailbox: Row | None = None
    dead_letters: Sequence[Row] = ()
    release: tuple[float, str | None, int, str] | None = None  # (available_at, error, refund, key)
    reopened: Sequence[tuple[float, str]] = ()  # (available_at, key)
    letters_deleted: Sequence[tuple[int]] = ()
    plain: bool = True


#: every field of an EncodedCommit, positionally (the common step's encoder builds one per row)
_new_encoded = positional_constructor(EncodedCommit)


class MalformedCommit(StoreError, ValueError):
    """A commit refused by :func:`encode_commit`'s checks (not by the JSON encoder).

    Nothing of it is written.  Also a ``ValueError``, which the store raised before.
    """


_Malformed = MalformedCommit


def _refuse(what: str) -> NoReturn:
    raise _Malformed(f"malformed commit: {what}")


def _check_rest(commit: Commit, iid: str) -> None:
    """Refuse effect, timer, mailbox and dead-letter rows the schema would refuse (or worse)."""
    for e in commit.effects:
        if e.instance != iid or e.status not in EFFECT_STATUSES:
            _refuse(f"effect {e.key!r} of {e.instance!r} (status {e.status!r}) "
                    f"in a commit of {iid!r}")
    for tm in commit.timers_set:
        if tm.instance != iid or tm.policy not in POLICIES:
            _refuse(f"timer {tm.timer_id!r} of {tm.instance!r} (policy {tm.policy!r}) "
                    f"in a commit of {iid!r}")
    if commit.mailbox is not None and commit.mailbox.instance != iid:
        _refuse(f"a mailbox row of {commit.mailbox.instance!r} in a commit of {iid!r}")
    if commit.effect_finished is not None and commit.effect_finished.status not in CLOSED_EFFECT:
        _refuse(f"effect_finished status {commit.effect_finished.status!r} does not close a row")
    for d in commit.dead_letters:
        if d.kind not in LETTER_KINDS:
            _refuse(f"dead letter kind {d.kind!r}")
    if commit.effect_released is not None and commit.effect_finished is not None:
        _refuse("a commit either finishes or releases its effect, not both")
    for letter in commit.dead_letters_deleted:
        if type(letter) is not int:
            _refuse(f"dead letter id {letter!r} is not an int")


def _encode_rest(encoded: EncodedCommit, commit: Commit, iid: str, rev: int) -> None:
    """The rows besides the instance and its transitions, onto ``encoded``."""
    encoded.plain = False
    encoded.effects = [
        (e.key, e.instance, e.name, dumps_exact(e.args), e.status, e.attempts, e.available_at,
         e.lease_owner, e.lease_until, int(e.at_most_once), e.last_error,
         dumps(e.errors) if e.errors else "[]", e.created_at)
        for e in commit.effects]
    encoded.timers_set = [(t.instance, t.timer_id, t.due, dumps_exact(t.event), t.target, t.policy,
                           rev, position) for position, t in enumerate(commit.timers_set)]
    encoded.timers_cancelled = [(iid, tid) for tid in commit.timers_cancelled]
    encoded.timer_fired = None if commit.timer_fired is None else (iid, commit.timer_fired)
    f = commit.effect_finished
    encoded.finish = None if f is None else (f.status, f.error, f.key)
    m = commit.mailbox
    encoded.mailbox = None if m is None else (
        m.instance, m.key, m.event,
        dumps(m.result if m.fingerprint is None
              else {**m.result, MAILBOX_FINGERPRINT: m.fingerprint}), m.at)
    encoded.dead_letters = [(d.kind, d.instance, d.key, dumps(d.payload), dumps(d.errors), d.at)
                            for d in commit.dead_letters]
    r = commit.effect_released
    encoded.release = None if r is None else (r.available_at, r.error, int(r.refund), r.key)
    encoded.reopened = [(o.available_at, o.key) for o in commit.effects_reopened]
    encoded.letters_deleted = [(i,) for i in commit.dead_letters_deleted]


def encode_commit(commit: Commit) -> EncodedCommit:
    """Validate ``commit`` and encode its rows; raise ``ValueError`` if it is malformed.

    Every commit of the engine passes through here in its single writer thread, most of them
    a plain step (an instance row and one transition row): that case is checked and encoded
    inline, the caches of :func:`_dump_names`, :func:`_dump_micros` and
    :func:`_dump_snapshot` consulted without calling them (a Python call costs more than the
    lookup), and the other kinds of rows only when there are any.
    """
    inst = commit.instance
    iid = inst.id
    if type(iid) is not str:
        _refuse(f"instance id {iid!r} is not a string")
    if inst.status not in INSTANCE_STATUSES:
        _refuse(f"instance {iid!r} has status {inst.status!r}")
    expected = commit.expected_rev
    if expected is not None and type(expected) is not int:
        _refuse(f"expected_rev {expected!r} is not an int")
    labels = inst.labels
    for k, v in labels.items():
        if type(k) is not str or type(v) is not str:
            _refuse(f"labels of {iid!r} must map strings to strings, not {k!r}: {v!r}")
    rev = 1 if expected is None else expected + 1
    names = _names
    micro_texts = _micro_texts
    try:
        snapshot = inst.snapshot
        text = getattr(snapshot, "text", None) if type(snapshot) is FrozenDict else None
        configuration = inst.configuration
        names_text = names.get(configuration) if type(configuration) is tuple else None
        instance = (iid, inst.chart, inst.version, inst.hash,
                    _dump_snapshot(snapshot) if text is None else text,
                    _dump_names(configuration) if names_text is None else names_text,
                    inst.status, rev,
                    dumps(labels) if labels else "{}", inst.created_at, inst.updated_at)
        transitions = []
        for t in commit.transitions:
            seq = t.seq
            if t.instance != iid or t.outcome not in OUTCOMES or type(seq) is not int or seq < 1:
                _refuse(f"transition {seq!r} of {t.instance!r} (outcome {t.outcome!r}) "
                        f"in a commit of {iid!r}")
            source, target, micros = t.source, t.target, t.microsteps
            source_text = names.get(source) if type(source) is tuple else None
            target_text = names.get(target) if type(target) is tuple else None
            hit = micro_texts.get(id(micros)) if type(micros) is FrozenList else None
            transitions.append((
                iid, seq, t.event, _dump_names(source) if source_text is None else source_text,
                _dump_names(target) if target_text is None else target_text, t.chart_version,
                t.outcome, t.at, "null" if t.data is None else dumps(t.data), t.actor,
                t.trace_id, t.reason, t.idempotency_key,
                hit[1] if hit is not None and hit[0] is micros else _dump_micros(micros)))
        # the common step: an instance row and its transition rows, no other kind of row
        encoded = _new_encoded(commit, instance, expected, transitions,
                               (), (), (), None, None, None, (), None, (), (), True)
        if (commit.effects or commit.timers_set or commit.timers_cancelled
                or commit.dead_letters or commit.effects_reopened or commit.dead_letters_deleted
                or commit.mailbox or commit.timer_fired is not None
                or commit.effect_finished is not None or commit.effect_released is not None):
            _check_rest(commit, iid)
            _encode_rest(encoded, commit, iid, rev)
        return encoded
    except _Malformed:
        raise
    except (TypeError, ValueError, RecursionError) as exc:  # sets, NaN, int keys, cycles
        raise _unstorable(commit, exc) from None


_ANY_SIZE = Limits(max_depth=10_000, max_payload_bytes=2**62)


def _unstorable(commit: Commit, exc: BaseException) -> StatekeeperError:
    """The value JSON cannot hold in ``commit``, by its path (on the error path only)."""
    iid = commit.instance.id
    places: list[tuple[str, Any]] = [("", commit.instance.snapshot)]
    places += [(f"transition {t.seq} event data ", t.data) for t in commit.transitions]
    places += [(f"effect {e.key!r} args ", e.args) for e in commit.effects]
    places += [(f"timer {t.timer_id!r} event ", t.event) for t in commit.timers_set]
    for where, value in places:
        try:
            check_payload(value, limits=_ANY_SIZE, what="the store")
        except InvalidPayload as found:
            return UnstorableValue(f"instance {iid!r} {where}{found.path}",
                                   f"{found.reason}; nothing was stored")
        except LimitExceeded:
            return UnstorableValue(
                f"instance {iid!r} {where}$", "a value holds itself (a cycle) or is nested "
                "too deep for JSON; nothing was stored")
    return MalformedCommit(f"malformed commit: instance {iid!r}: a value cannot be stored as "
                           f"JSON (dicts, lists, strings, numbers, booleans and None can): {exc}")


def why_not_json(value: Any) -> str | None:
    """Why a store cannot hold ``value`` as JSON (a set, a datetime, a cycle), or ``None``.

    For values that reach a commit from outside the step (an effect's result), so their
    problem is reported where it arises instead of as a refused commit.
    """
    try:
        check_payload(value, limits=_ANY_SIZE, what="the store")
        dumps(value)
    except LimitExceeded:
        return "a value holds itself (a cycle) or is nested too deep for JSON"
    except (TypeError, ValueError, RecursionError) as exc:  # InvalidPayload is a TypeError
        return str(exc) or type(exc).__name__
    return None
