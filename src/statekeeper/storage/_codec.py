"""Records to rows, shared by every backend (``_decode`` turns rows back into records).

Every store's rows have the shape its table's description gives (:mod:`.tables`), their
values neutral (JSON as validated text, booleans as ``bool``) until the backend's adapter
(:mod:`.adapters`) turns the few it must into what its driver binds.  So the in-memory store
is exactly as strict as SQLite: a tuple comes back as a list, a value JSON cannot encode is
refused on write, and a corrupted row is refused on read with an :class:`IntegrityError`
naming its table and key.  Nothing here repairs a row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from ..core._records import positional_constructor
from ..core.errors import InvalidPayload, LimitExceeded, StatekeeperError, UnstorableValue
from ..core.limits import Limits
from ..core.payload import check_payload, is_flat
from ._json import dumps, dumps_exact, loads
from .adapters import SQLITE, Adapter, row_converter
from .base import StoreError
from .records import (
    Commit,
    FrozenDict,
    FrozenList,
)
from .tables import (
    DEAD_LETTERS,
    EFFECT_STATUSES,
    INSTANCE_STATUSES,
    LETTER_KINDS,
    MAILBOX,
    MAILBOX_FINGERPRINT,
    OUTBOX,
    OUTCOMES,
    POLICIES,
    TIMERS,
)

__all__ = [
    "EFFECT_STATUSES",
    "FINISH",
    "INSTANCE_STATUSES",
    "LETTER_KINDS",
    "OPEN_EFFECT",
    "OUTCOMES",
    "POLICIES",
    "RELEASE",
    "REOPEN",
    "TIMER_KEY",
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
    text = getattr(snapshot, "text", None)
    if text is None:
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

#: the names of an :class:`EncodedCommit`'s statement parameters, in their order: a store that
#: binds them by name (PostgreSQL) takes the names from here
FINISH = ("status", "error", "owner", "key")
RELEASE = ("available_at", "error", "refund", "owner", "key")
REOPEN = ("available_at", "key")
TIMER_KEY = ("instance", "timer_id")

OPEN_EFFECT = frozenset({"pending", "running"})
CLOSED_EFFECT = EFFECT_STATUSES - OPEN_EFFECT


@dataclass(slots=True)
class EncodedCommit:
    """A validated commit as rows, encoded before any lock is taken.

    Table rows (``instance``, ``transitions``, ``effects``, ``timers_set``, ``mailbox``,
    ``dead_letters``) hold their table's :attr:`~.tables.Table.written` columns in order, as
    the store's adapter binds them.  The others are statement parameters in the order of the
    named queries: ``finish`` ``(status, error, owner, key)``, ``release`` ``(available_at,
    error, refund, owner, key)`` (``owner`` ``None``: any holder), ``reopened``
    ``(available_at, key)``, timers as ``(instance, timer_id)``: the names :data:`FINISH`,
    :data:`RELEASE`, :data:`REOPEN` and :data:`TIMER_KEY` give, for a store binding by name.

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
    finish: tuple[str, str | None, str | None, str] | None = None  # (status, error, owner, key)
    mailbox: Row | None = None
    dead_letters: Sequence[Row] = ()
    #: (available_at, error, refund, owner, key)
    release: tuple[float, str | None, int, str | None, str] | None = None
    reopened: Sequence[tuple[float, str]] = ()  # (available_at, key)
    letters_deleted: Sequence[tuple[int]] = ()
    plain: bool = True


#: an EncodedCommit without its dataclass __init__: the engine's single writer thread builds
#: one per commit, and skipping the class call saves a third of its cost (core/_records.py)
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


_effect_row, _timer_row = OUTBOX.build, TIMERS.build
_mailbox_row, _letter_row = MAILBOX.build, DEAD_LETTERS.build


def _encode_rest(encoded: EncodedCommit, commit: Commit, iid: str, rev: int) -> None:
    """The rows besides the instance and its transitions, onto ``encoded``, by column name."""
    encoded.plain = False
    encoded.effects = [
        _effect_row(key=e.key, instance=e.instance, name=e.name, args=dumps_exact(e.args),
                    status=e.status, attempts=e.attempts, available_at=e.available_at,
                    lease_owner=e.lease_owner, lease_until=e.lease_until,
                    at_most_once=bool(e.at_most_once), last_error=e.last_error,
                    errors=dumps(e.errors) if e.errors else "[]", created_at=e.created_at,
                    traceparent=e.traceparent)
        for e in commit.effects]
    encoded.timers_set = [
        _timer_row(instance=t.instance, timer_id=t.timer_id, due=t.due,
                   event=dumps_exact(t.event), target=t.target, policy=t.policy,
                   traceparent=t.traceparent, set_rev=rev, position=position)
        for position, t in enumerate(commit.timers_set)]
    encoded.timers_cancelled = [(iid, tid) for tid in commit.timers_cancelled]
    encoded.timer_fired = None if commit.timer_fired is None else (iid, commit.timer_fired)
    f = commit.effect_finished
    encoded.finish = None if f is None else (f.status, f.error, f.owner, f.key)
    m = commit.mailbox
    encoded.mailbox = None if m is None else _mailbox_row(
        instance=m.instance, key=m.key, event=m.event,
        result=dumps(m.result if m.fingerprint is None
                     else {**m.result, MAILBOX_FINGERPRINT: m.fingerprint}), at=m.at)
    encoded.dead_letters = [
        _letter_row(kind=d.kind, instance=d.instance, key=d.key, payload=dumps(d.payload),
                    errors=dumps(d.errors), at=d.at)
        for d in commit.dead_letters]
    r = commit.effect_released
    encoded.release = None if r is None else (r.available_at, r.error, int(r.refund),
                                                 r.owner, r.key)
    encoded.reopened = [(o.available_at, o.key) for o in commit.effects_reopened]
    encoded.letters_deleted = [(i,) for i in commit.dead_letters_deleted]


class _Converters:
    """One adapter's row converters, per table (``None``: rows bound as encoded)."""

    def __init__(self, adapter: Adapter) -> None:
        self.instance = row_converter(adapter, "instances")
        self.transition = row_converter(adapter, "transitions")
        self.effect = row_converter(adapter, "outbox")
        self.timer = row_converter(adapter, "timers")
        self.mailbox = row_converter(adapter, "mailbox")
        self.letter = row_converter(adapter, "dead_letters")


_converters: dict[int, tuple[Adapter, _Converters]] = {}


def _for_driver(encoded: EncodedCommit, adapter: Adapter) -> None:
    """Turn ``encoded``'s neutral rows into what ``adapter``'s driver binds, in place."""
    hit = _converters.get(id(adapter))
    if hit is None or hit[0] is not adapter:
        hit = _converters[id(adapter)] = (adapter, _Converters(adapter))
    c = hit[1]
    if c.instance is not None:
        encoded.instance = c.instance(encoded.instance)
    if c.transition is not None:
        encoded.transitions = [c.transition(r) for r in encoded.transitions]
    if encoded.plain:
        return
    if c.effect is not None and encoded.effects:
        encoded.effects = [c.effect(r) for r in encoded.effects]
    if c.timer is not None and encoded.timers_set:
        encoded.timers_set = [c.timer(r) for r in encoded.timers_set]
    if c.mailbox is not None and encoded.mailbox is not None:
        encoded.mailbox = c.mailbox(encoded.mailbox)
    if c.letter is not None and encoded.dead_letters:
        encoded.dead_letters = [c.letter(r) for r in encoded.dead_letters]


def encode_commit(commit: Commit, adapter: Adapter = SQLITE) -> EncodedCommit:
    """Validate ``commit`` and encode its rows for ``adapter``'s backend.

    Raises ``ValueError`` (:class:`MalformedCommit`, :class:`UnstorableValue`) if it is
    malformed; nothing is written then.

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
        # The hot path: the instance and transition rows are tuples in the order of
        # INSTANCES.written and TRANSITIONS.written, built here and only here (a keyword call
        # per row would cost the writer thread ~100 ns each);
        # tests/storage/test_tables.py checks them against those descriptions by name.
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
        if adapter.converted and (adapter is not SQLITE or not encoded.plain):
            _for_driver(encoded, adapter)  # an adapter converting no kind (PostgreSQL): never
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
    problem is reported where it arises instead of as a refused commit.  The usual result
    (``None``, a small flat dict: :func:`~statekeeper.core.payload.is_flat`) is passed
    without the walk and the trial encoding.
    """
    if value is None or (value.__class__ is dict and is_flat(value, _ANY_SIZE)):
        return None
    try:
        check_payload(value, limits=_ANY_SIZE, what="the store")
        dumps(value)
    except LimitExceeded:
        return "a value holds itself (a cycle) or is nested too deep for JSON"
    except (TypeError, ValueError, RecursionError) as exc:  # InvalidPayload is a TypeError
        return str(exc) or type(exc).__name__
    return None
