"""The memory store's rows, and the rules a commit must pass to change them.

Kept apart from :mod:`statekeeper.storage.memory` (the Store API over these rows) so each
stays small: the rows are the same as SQLite's (JSON as text, encoded by the shared codec),
and :meth:`MemoryRows._applies` checks every conflict rule the SQL stores check before
:meth:`MemoryRows._write` changes anything, which is what a savepoint gives the SQL stores.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

from ._codec import OPEN_EFFECT, EncodedCommit, Row, dumps
from ._decode import decode_effect
from ._memory_gauges import MemoryGauges
from .tables import INSTANCES, MAILBOX, OUTBOX, POLICY_STATE, TIMERS, TRANSITIONS

__all__ = [
    "I_CHART", "I_ID", "I_REV", "I_STATUS", "O_ATTEMPTS", "O_AVAILABLE", "O_ID", "O_INSTANCE", "O_NAME",
    "O_OWNER", "O_STATUS", "O_UNTIL", "P_VERSION", "TIMER_COLUMNS", "MemoryRows", "timer_order",
]

# Positions in the rows this store keeps, from the tables' descriptions: rows as read (an
# instance, a transition with its id first, an outbox row with its id first, as a list so a
# claim can change it in place), timers as written (their order columns after the read ones).
I_ID, I_CHART, I_STATUS, I_REV, I_CREATED = INSTANCES.positions(
    "id", "chart", "status", "rev", "created_at")
(O_ID, O_INSTANCE, O_NAME, O_STATUS, O_ATTEMPTS, O_AVAILABLE, O_OWNER, O_UNTIL, O_LAST_ERROR,
 O_ERRORS) = OUTBOX.positions("id", "instance", "name", "status", "attempts", "available_at",
                              "lease_owner", "lease_until", "last_error", "errors")
#: an encoded outbox row's key (it has no id yet)
W_EFFECT_KEY = OUTBOX.written_at("key")
W_SEQ = TRANSITIONS.written_at("seq")
W_MAILBOX_KEY = MAILBOX.written_at("key")
W_TIMER = TIMERS.written_at("instance"), TIMERS.written_at("timer_id")
#: a timer row's read columns; the rest (set_rev, position) only order the rows
TIMER_COLUMNS = TIMERS.width
P_VERSION = POLICY_STATE.at("version")
_TIMER_ORDER = tuple(TIMERS.written_at(n)
                     for n in ("due", "instance", "set_rev", "position", "timer_id"))


def timer_order(row: Row) -> tuple[Any, ...]:
    """Due time, then (per instance) the order the timers were set: as SQLite sorts them."""
    return tuple(row[i] for i in _TIMER_ORDER)


class MemoryRows(MemoryGauges):
    """Instances, logs, outbox and timers in dictionaries, under one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._closed = False
        self._instances: dict[str, Row] = {}
        self._transitions: dict[str, dict[int, Row]] = {}
        self._mailbox: dict[tuple[str, str], Row] = {}
        self._outbox: dict[str, list[Any]] = {}
        self._open: dict[str, list[Any]] = {}  # the pending and running subset of _outbox
        self._timers: dict[tuple[str, str], Row] = {}
        self._dead: dict[int, Row] = {}
        self._policy: dict[str, Row] = {}
        self._shadows: list[Row] = []  # the shadow log, in id order
        self._shadow_id = 0
        self._transition_ids = itertools.count(1)
        self._effect_ids = itertools.count(1)
        self._letter_ids = itertools.count(1)
        self._init_gauges()

    def _applies(self, e: EncodedCommit) -> bool:
        iid = e.instance[I_ID]
        row = self._instances.get(iid)
        if (row is not None) if e.expected_rev is None else (
                row is None or row[I_REV] != e.expected_rev):
            return False
        log = self._transitions.get(iid, {})
        seqs = [t[W_SEQ] for t in e.transitions]
        keys = [x[W_EFFECT_KEY] for x in e.effects]
        return not (
            len(set(seqs)) != len(seqs) or any(s in log for s in seqs)
            or len(set(keys)) != len(keys) or any(k in self._outbox for k in keys)
            or (e.mailbox is not None and (iid, e.mailbox[W_MAILBOX_KEY]) in self._mailbox)
            or (e.timer_fired is not None and e.timer_fired not in self._timers)
            or (e.finish is not None and not self._leased(e.finish[-2], e.finish[-1]))
            or (e.release is not None and not self._leased(e.release[-2], e.release[-1]))
            or any(key not in self._outbox or key in self._open for _, key in e.reopened)
            or len({i for (i,) in e.letters_deleted}) != len(e.letters_deleted)
            or any(i not in self._dead for (i,) in e.letters_deleted)
        )

    def _leased(self, owner: str | None, key: str) -> bool:
        """Whether outbox row ``key`` is open, and (given an ``owner``) leased to ``owner``."""
        row = self._open.get(key)
        return row is not None and (owner is None or (row[O_STATUS] == "running"
                                                      and row[O_OWNER] == owner))

    def _write(self, e: EncodedCommit) -> None:
        iid = e.instance[I_ID]
        old = self._instances.get(iid)
        if old is not None:  # created_at is kept from the first commit
            e.instance = (*e.instance[:I_CREATED], old[I_CREATED], *e.instance[I_CREATED + 1:])
        self._counted(old, e.instance)
        self._instances[iid] = e.instance
        log = self._transitions.setdefault(iid, {})
        for t in e.transitions:  # the store assigns the id, the first column
            log[t[W_SEQ]] = (next(self._transition_ids), *t)
        for x in e.effects:
            row = [next(self._effect_ids), *x]
            self._outbox[x[W_EFFECT_KEY]] = row
            if row[O_STATUS] in OPEN_EFFECT:
                self._open[x[W_EFFECT_KEY]] = row
        if e.timer_fired is not None:
            del self._timers[e.timer_fired]
        for key in e.timers_cancelled:
            self._timers.pop(key, None)
        for tm in e.timers_set:
            self._timers[(tm[W_TIMER[0]], tm[W_TIMER[1]])] = tm
        if e.finish is not None:
            status, error, _, effect_key = e.finish
            row = self._open.pop(effect_key)
            row[O_STATUS], row[O_OWNER], row[O_UNTIL] = status, None, None
            self._record_error(row, error)
        if e.release is not None:
            available_at, error, refund, _, effect_key = e.release
            row = self._open[effect_key]
            self._give_back(row, available_at, error, bool(refund))
        for available_at, effect_key in e.reopened:
            row = self._outbox[effect_key]
            row[O_STATUS], row[O_AVAILABLE], row[O_ATTEMPTS] = "pending", available_at, 0
            row[O_OWNER], row[O_UNTIL] = None, None
            self._open[effect_key] = row
        for (letter_id,) in e.letters_deleted:
            del self._dead[letter_id]
        if e.mailbox is not None:
            self._mailbox[(iid, e.mailbox[W_MAILBOX_KEY])] = e.mailbox
        for d in e.dead_letters:
            letter_id = next(self._letter_ids)
            self._dead[letter_id] = (letter_id, *d)

    @staticmethod
    def _record_error(row: list[Any], error: str | None) -> None:
        if error is not None:
            row[O_LAST_ERROR] = error
            row[O_ERRORS] = dumps([*decode_effect(tuple(row)).errors, error])

    def _give_back(self, row: list[Any], available_at: float, error: str | None,
                   refund: bool) -> None:
        row[O_STATUS], row[O_AVAILABLE] = "pending", available_at
        row[O_OWNER], row[O_UNTIL] = None, None
        if refund:
            row[O_ATTEMPTS] = max(0, row[O_ATTEMPTS] - 1)
        self._record_error(row, error)
