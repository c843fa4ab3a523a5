"""An in-process store that passes the same contract as the SQL stores.

Runtime unit tests run against it, so it must not be more forgiving than SQLite: it keeps the
same rows (JSON payloads as text, encoded and decoded by the shared codec), which also makes
every record it returns a fresh copy, and it checks every conflict rule the SQL stores check.
One lock guards all state, so each call is atomic, as a transaction is.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._codec import (
    I_CREATED,
    I_REV,
    OPEN_EFFECT,
    EncodedCommit,
    Row,
    check_letter_id,
    dumps,
    encode_commit,
    history_window,
    query_filters,
)
from ._decode import (
    decode_dead_letter,
    decode_effect,
    decode_instance,
    decode_mailbox,
    decode_policy_state,
    decode_timer,
    decode_transition,
)
from ._integrity import row_problems
from .base import StoreError, UnknownInstance
from .records import (
    Commit,
    DeadLetterRecord,
    EffectRecord,
    InstanceRecord,
    MailboxRecord,
    PolicyStateRecord,
    TimerRecord,
    TransitionRecord,
)

if TYPE_CHECKING:
    from .base import Store

__all__ = ["MemoryStore"]

# outbox row positions (see the column order in _codec)
_O_ID, _O_KEY, _O_INSTANCE, _O_NAME, _O_STATUS, _O_ATTEMPTS, _O_AVAILABLE = 0, 1, 2, 3, 5, 6, 7
_O_OWNER, _O_UNTIL, _O_LAST_ERROR, _O_ERRORS = 8, 9, 11, 12
#: a timer row's selected columns; two more (set_rev, position) only order the rows
_TIMER_COLUMNS = 6


class MemoryStore:
    """Instances, logs, outbox and timers in dictionaries; nothing survives the process."""

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
        self._transition_ids = itertools.count(1)
        self._effect_ids = itertools.count(1)
        self._letter_ids = itertools.count(1)

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the store is closed")

    def migrate(self) -> None:
        """Nothing to create: the schema is the set of dictionaries."""

    def close(self) -> None:
        with self._lock:
            self._closed = True

    # -- instances -----------------------------------------------------------------------------

    def load(self, instance_id: str) -> InstanceRecord:
        with self._lock:
            self._check_open()
            row = self._instances.get(instance_id)
        if row is None:
            raise UnknownInstance(instance_id)
        return decode_instance(row)

    def apply(self, commits: Sequence[Commit]) -> list[Commit]:
        """Apply commits in order; return the conflicting ones, which change nothing.

        Every commit is validated and encoded before the lock is taken, so a malformed one
        raises before anything of the group is written (as the SQL stores roll back).  Each
        commit is checked against every conflict rule *before* it mutates anything, which is
        what a savepoint gives the SQL stores.
        """
        encoded = [encode_commit(c) for c in commits]
        with self._lock:
            self._check_open()
            conflicts = []
            lost: set[str] = set()  # later commits of a lost one's instance were built on it
            for e in encoded:
                if e.instance[0] not in lost and self._applies(e):
                    self._write(e)
                else:
                    conflicts.append(e.commit)
                    lost.add(e.instance[0])
        return conflicts

    def _applies(self, e: EncodedCommit) -> bool:
        iid = e.instance[0]
        row = self._instances.get(iid)
        if (row is not None) if e.expected_rev is None else (
                row is None or row[I_REV] != e.expected_rev):
            return False
        log = self._transitions.get(iid, {})
        seqs = [t[1] for t in e.transitions]
        keys = [x[0] for x in e.effects]
        return not (
            len(set(seqs)) != len(seqs) or any(s in log for s in seqs)
            or len(set(keys)) != len(keys) or any(k in self._outbox for k in keys)
            or (e.mailbox is not None and (iid, e.mailbox[1]) in self._mailbox)
            or (e.timer_fired is not None and e.timer_fired not in self._timers)
            or (e.finish is not None and e.finish[2] not in self._open)
            or (e.release is not None and e.release[3] not in self._open)
            or any(key not in self._outbox or key in self._open for _, key in e.reopened)
            or len({i for (i,) in e.letters_deleted}) != len(e.letters_deleted)
            or any(i not in self._dead for (i,) in e.letters_deleted)
        )

    def _write(self, e: EncodedCommit) -> None:
        iid = e.instance[0]
        old = self._instances.get(iid)
        if old is not None:  # created_at is kept from the first commit
            e.instance = (*e.instance[:I_CREATED], old[I_CREATED], *e.instance[I_CREATED + 1:])
        self._instances[iid] = e.instance
        log = self._transitions.setdefault(iid, {})
        for t in e.transitions:
            log[t[1]] = (next(self._transition_ids), *t)
        for x in e.effects:
            row = [next(self._effect_ids), *x]
            self._outbox[x[0]] = row
            if row[_O_STATUS] in OPEN_EFFECT:
                self._open[x[0]] = row
        if e.timer_fired is not None:
            del self._timers[e.timer_fired]
        for key in e.timers_cancelled:
            self._timers.pop(key, None)
        for tm in e.timers_set:
            self._timers[(tm[0], tm[1])] = tm
        if e.finish is not None:
            status, error, effect_key = e.finish
            row = self._open.pop(effect_key)
            row[_O_STATUS], row[_O_OWNER], row[_O_UNTIL] = status, None, None
            self._record_error(row, error)
        if e.release is not None:
            available_at, error, refund, effect_key = e.release
            row = self._open[effect_key]
            self._give_back(row, available_at, error, bool(refund))
        for available_at, effect_key in e.reopened:
            row = self._outbox[effect_key]
            row[_O_STATUS], row[_O_AVAILABLE], row[_O_ATTEMPTS] = "pending", available_at, 0
            row[_O_OWNER], row[_O_UNTIL] = None, None
            self._open[effect_key] = row
        for (letter_id,) in e.letters_deleted:
            del self._dead[letter_id]
        if e.mailbox is not None:
            self._mailbox[(iid, e.mailbox[1])] = e.mailbox
        for d in e.dead_letters:
            letter_id = next(self._letter_ids)
            self._dead[letter_id] = (letter_id, *d)

    @staticmethod
    def _record_error(row: list[Any], error: str | None) -> None:
        if error is not None:
            row[_O_LAST_ERROR] = error
            row[_O_ERRORS] = dumps([*decode_effect(tuple(row)).errors, error])

    def query(
        self,
        *,
        chart: str | None = None,
        state: str | None = None,
        labels: Mapping[str, str] | None = None,
        status: str | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> list[InstanceRecord]:
        labels = query_filters(chart, state, labels, status, limit, after)
        with self._lock:
            self._check_open()
            rows = [self._instances[i] for i in sorted(self._instances)
                    if after is None or i > after]
        found: list[InstanceRecord] = []
        for row in rows:
            if len(found) >= limit:
                break
            if (chart is not None and row[1] != chart) or (status is not None and row[6] != status):
                continue
            rec = decode_instance(row)
            if state is not None and state not in rec.configuration:
                continue
            if labels and any(rec.labels.get(k) != v for k, v in labels.items()):
                continue
            found.append(rec)
        return found

    # -- the audit log and the mailbox -----------------------------------------------------------

    def history(self, instance_id: str, *, limit: int | None = None,
                after: int = 0) -> list[TransitionRecord]:
        limit, after = history_window(limit, after)
        with self._lock:
            self._check_open()
            if instance_id not in self._instances:
                raise UnknownInstance(instance_id)
            log = self._transitions.get(instance_id, {})
            rows = [log[s] for s in sorted(log) if s > after][:limit]
        return [decode_transition(r) for r in rows]

    def mailbox(self, instance_id: str, key: str) -> MailboxRecord | None:
        with self._lock:
            self._check_open()
            row = self._mailbox.get((instance_id, key))
        return None if row is None else decode_mailbox(row)

    # -- timers ------------------------------------------------------------------------------------

    def due_timers(self, now: float, *, limit: int = 1000) -> list[TimerRecord]:
        with self._lock:
            self._check_open()
            rows = sorted((t for t in self._timers.values() if t[2] <= now), key=_timer_order)
        return [decode_timer(r[:_TIMER_COLUMNS]) for r in rows[:limit]]

    def next_timer_due(self, after: float | None = None) -> float | None:
        with self._lock:
            self._check_open()
            dues = (float(t[2]) for t in self._timers.values())
            return min((d for d in dues if after is None or d > after), default=None)

    def timers(self, instance_id: str) -> list[TimerRecord]:
        with self._lock:
            self._check_open()
            rows = sorted((t for t in self._timers.values() if t[0] == instance_id),
                          key=_timer_order)
        return [decode_timer(r[:_TIMER_COLUMNS]) for r in rows]

    # -- the outbox --------------------------------------------------------------------------------

    def claim_effects(self, owner: str, now: float, lease: float, *,
                      limit: int = 100) -> list[EffectRecord]:
        """Lease runnable effects; the lock makes select-and-update one atomic step."""
        with self._lock:
            self._check_open()
            runnable = sorted(
                (r for r in self._open.values()
                 if (r[_O_STATUS] == "pending" and r[_O_AVAILABLE] <= now)
                 or (r[_O_STATUS] == "running" and r[_O_UNTIL] is not None
                     and r[_O_UNTIL] <= now)),
                key=lambda r: (r[_O_AVAILABLE], r[_O_ID]))[:limit]
            for row in runnable:
                row[_O_STATUS], row[_O_OWNER], row[_O_UNTIL] = "running", owner, now + lease
                row[_O_ATTEMPTS] += 1
            claimed = [tuple(r) for r in runnable]
        return [decode_effect(r) for r in claimed]

    def effects(self, instance_id: str | None = None,
                status: str | None = None) -> list[EffectRecord]:
        with self._lock:
            self._check_open()
            rows = [tuple(r) for r in self._outbox.values()
                    if (instance_id is None or r[_O_INSTANCE] == instance_id)
                    and (status is None or r[_O_STATUS] == status)]
        return [decode_effect(r) for r in rows]

    def _held(self, key: str, owner: str) -> list[Any] | None:
        row = self._open.get(key)
        if row is None or row[_O_STATUS] != "running" or row[_O_OWNER] != owner:
            return None
        return row

    def extend_lease(self, key: str, owner: str, until: float) -> bool:
        with self._lock:
            self._check_open()
            row = self._held(key, owner)
            if row is None:
                return False
            row[_O_UNTIL] = until
            return True

    def release_effect(self, key: str, owner: str, *, available_at: float,
                       error: str | None, refund: bool = False) -> bool:
        with self._lock:
            self._check_open()
            row = self._held(key, owner)
            if row is None:
                return False
            self._give_back(row, available_at, error, refund)
            return True

    def _give_back(self, row: list[Any], available_at: float, error: str | None,
                   refund: bool) -> None:
        row[_O_STATUS], row[_O_AVAILABLE] = "pending", available_at
        row[_O_OWNER], row[_O_UNTIL] = None, None
        if refund:
            row[_O_ATTEMPTS] = max(0, row[_O_ATTEMPTS] - 1)
        self._record_error(row, error)

    def count_running(self, name: str, now: float) -> int:
        with self._lock:
            self._check_open()
            return sum(1 for r in self._open.values()
                       if r[_O_NAME] == name and r[_O_STATUS] == "running"
                       and r[_O_UNTIL] is not None and r[_O_UNTIL] > now)

    # -- shared policy state -------------------------------------------------------------------

    def policy_state(self, key: str) -> PolicyStateRecord | None:
        with self._lock:
            self._check_open()
            row = self._policy.get(key)
        return None if row is None else decode_policy_state(row)

    def put_policy_state(self, key: str, value: dict[str, Any], *, expected_version: int | None,
                         now: float) -> bool:
        encoded = dumps(value)
        with self._lock:
            self._check_open()
            row = self._policy.get(key)
            if (row is not None) if expected_version is None else (
                    row is None or row[2] != expected_version):
                return False
            self._policy[key] = (key, encoded, 1 if row is None else row[2] + 1, now)
            return True

    # -- dead letters --------------------------------------------------------------------------

    def dead_letters(self, instance_id: str | None = None) -> list[DeadLetterRecord]:
        with self._lock:
            self._check_open()
            rows = [r for r in self._dead.values() if instance_id is None or r[2] == instance_id]
        return [decode_dead_letter(r) for r in rows]

    def dead_letter(self, letter_id: int) -> DeadLetterRecord | None:
        with self._lock:
            self._check_open()
            row = self._dead.get(check_letter_id(letter_id))
        return None if row is None else decode_dead_letter(row)

    def delete_dead_letter(self, letter_id: int) -> bool:
        with self._lock:
            self._check_open()
            return self._dead.pop(check_letter_id(letter_id), None) is not None

    # -- checks ------------------------------------------------------------------------------

    def integrity_check(self) -> list[str]:
        """Decode every row and check the same cross-row rules as the SQL stores."""
        with self._lock:
            self._check_open()
            tables: dict[str, list[Row]] = {
                "instances": list(self._instances.values()),
                "transitions": [r for log in self._transitions.values() for r in log.values()],
                "mailbox": list(self._mailbox.values()),
                "outbox": [tuple(r) for r in self._outbox.values()],
                "timers": [r[:_TIMER_COLUMNS] for r in self._timers.values()],
                "dead_letters": list(self._dead.values()),
                "policy_state": list(self._policy.values()),
            }
        return row_problems(tables)


def _timer_order(row: Row) -> tuple[Any, ...]:
    """Due time, then (per instance) the order the timers were set: as SQLite sorts them."""
    return (row[2], row[0], row[6], row[7], row[1])


if TYPE_CHECKING:  # the type checker proves MemoryStore implements the contract
    def _implements(store: MemoryStore) -> Store:
        return store
