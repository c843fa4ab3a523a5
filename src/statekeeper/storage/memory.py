"""An in-process store that passes the same contract as the SQL stores.

Runtime unit tests run against it, so it must not be more forgiving than SQLite: it keeps the
same rows (as the tables' descriptions give them, through the SQLite adapter: JSON as text,
booleans 0/1; encoded and decoded by the shared codec), which also makes
every record it returns a fresh copy, and it checks every conflict rule the SQL stores check.
One lock guards all state, so each call is atomic, as a transaction is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._arguments import (
    check_charts,
    check_ids,
    check_keys,
    check_letter_id,
    check_time,
    history_window,
    query_filters,
)
from ._codec import (
    Row,
    dumps,
    encode_commit,
)
from ._decode import (
    decode_dead_letter,
    decode_effect,
    decode_instance,
    decode_loaded_instance,
    decode_mailbox,
    decode_policy_state,
    decode_shadow,
    decode_timer,
    decode_transition,
    decoded,
    decoded_or_report,
)
from ._integrity import row_problems
from ._memory_audit import MemoryAudit
from ._memory_rows import (
    I_CHART,
    I_ID,
    I_STATUS,
    O_ATTEMPTS,
    O_AVAILABLE,
    O_ID,
    O_INSTANCE,
    O_NAME,
    O_OWNER,
    O_STATUS,
    O_UNTIL,
    P_VERSION,
    TIMER_COLUMNS,
    timer_order,
)
from ._shadow_rows import check_shadow_page, encode_shadows
from .base import StoreError, UnknownInstance
from .records import (
    Commit,
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
from .tables import DEAD_LETTERS, POLICY_STATE, SHADOW_LOG, TIMERS

if TYPE_CHECKING:
    from .base import Store

__all__ = ["MemoryStore"]

T_INSTANCE, T_DUE = TIMERS.positions("instance", "due")
D_INSTANCE = DEAD_LETTERS.at("instance")
S_ID, S_CHART = SHADOW_LOG.positions("id", "chart")

class MemoryStore(MemoryAudit):
    """Instances, logs, outbox and timers in dictionaries; nothing survives the process."""

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the store is closed")

    def migrate(self) -> None:
        """Nothing to create: the schema is the set of dictionaries."""

    def close(self) -> None:
        with self._lock:
            self._closed = True

    # -- instances -----------------------------------------------------------------------------

    def load_many(self, instance_ids: Sequence[str]) -> dict[str, InstanceRecord]:
        instance_ids = check_ids(instance_ids)
        with self._lock:
            self._check_open()
            rows = [self._loaded(self._instances.get(i)) for i in instance_ids]
        return {record.id: record for row in rows if row is not None
                for record in decoded(decode_loaded_instance, row)}

    def load(self, instance_id: str) -> InstanceRecord:
        with self._lock:
            self._check_open()
            row = self._loaded(self._instances.get(instance_id))
        if row is None:
            raise UnknownInstance(instance_id)
        return decode_loaded_instance(row)

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
                if e.instance[I_ID] not in lost and self._applies(e):
                    self._write(e)
                else:
                    conflicts.append(e.commit)
                    lost.add(e.instance[I_ID])
        return conflicts

    def query(
        self,
        *,
        chart: str | None = None,
        state: str | None = None,
        labels: Mapping[str, str] | None = None,
        status: str | None = None,
        limit: int = 100,
        after: str | None = None,
        corrupted: list[CorruptedRow] | None = None,
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
            if ((chart is not None and row[I_CHART] != chart)
                    or (status is not None and row[I_STATUS] != status)):
                continue
            for rec in decoded_or_report(decode_instance, row, "instances", corrupted):
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

    def mailboxes(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], MailboxRecord]:
        keys = check_keys(keys)
        with self._lock:
            self._check_open()
            rows = [(k, self._mailbox.get(k)) for k in keys]
        return {k: record for k, row in rows if row is not None
                for record in decoded(decode_mailbox, row)}

    def mailbox(self, instance_id: str, key: str) -> MailboxRecord | None:
        with self._lock:
            self._check_open()
            row = self._mailbox.get((instance_id, key))
        return None if row is None else decode_mailbox(row)

    # -- timers ------------------------------------------------------------------------------------

    def due_timers(self, now: float, *, limit: int = 1000,
                   charts: Sequence[str] | None = None) -> list[TimerRecord]:
        served = check_charts(charts)
        with self._lock:
            self._check_open()
            rows = sorted((t for t in self._timers.values() if t[T_DUE] <= now and (
                served is None or self._chart_of(t[T_INSTANCE]) in (None, *served))),
                          key=timer_order)
        return [decode_timer(r[:TIMER_COLUMNS]) for r in rows[:limit]]

    def _chart_of(self, instance_id: str) -> str | None:
        row = self._instances.get(instance_id)
        return None if row is None else str(row[I_CHART])

    def next_timer_due(self, after: float | None = None) -> float | None:
        check_time(after, "after")
        with self._lock:
            self._check_open()
            dues = (float(t[T_DUE]) for t in self._timers.values())
            return min((d for d in dues if after is None or d > after), default=None)

    def timers(self, instance_id: str) -> list[TimerRecord]:
        with self._lock:
            self._check_open()
            rows = sorted((t for t in self._timers.values() if t[T_INSTANCE] == instance_id),
                          key=timer_order)
        return [decode_timer(r[:TIMER_COLUMNS]) for r in rows]

    # -- the outbox --------------------------------------------------------------------------------

    def claim_effects(self, owner: str, now: float, lease: float, *,
                      limit: int = 100) -> list[EffectRecord]:
        """Lease runnable effects; the lock makes select-and-update one atomic step."""
        with self._lock:
            self._check_open()
            runnable = sorted(
                (r for r in self._open.values()
                 if (r[O_STATUS] == "pending" and r[O_AVAILABLE] <= now)
                 or (r[O_STATUS] == "running" and r[O_UNTIL] is not None
                     and r[O_UNTIL] <= now)),
                key=lambda r: (r[O_AVAILABLE], r[O_ID]))[:limit]
            for row in runnable:
                row[O_STATUS], row[O_OWNER], row[O_UNTIL] = "running", owner, now + lease
                row[O_ATTEMPTS] += 1
            claimed = [tuple(r) for r in runnable]
        return [decode_effect(r) for r in claimed]

    def effects(self, instance_id: str | None = None,
                status: str | None = None) -> list[EffectRecord]:
        with self._lock:
            self._check_open()
            rows = [tuple(r) for r in self._outbox.values()
                    if (instance_id is None or r[O_INSTANCE] == instance_id)
                    and (status is None or r[O_STATUS] == status)]
        return [decode_effect(r) for r in rows]

    def _held(self, key: str, owner: str) -> list[Any] | None:
        row = self._open.get(key)
        if row is None or row[O_STATUS] != "running" or row[O_OWNER] != owner:
            return None
        return row

    def extend_lease(self, key: str, owner: str, until: float) -> bool:
        with self._lock:
            self._check_open()
            row = self._held(key, owner)
            if row is None:
                return False
            row[O_UNTIL] = until
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

    def count_running(self, name: str, now: float) -> int:
        with self._lock:
            self._check_open()
            return sum(1 for r in self._open.values()
                       if r[O_NAME] == name and r[O_STATUS] == "running"
                       and r[O_UNTIL] is not None and r[O_UNTIL] > now)

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
                    row is None or row[P_VERSION] != expected_version):
                return False
            self._policy[key] = POLICY_STATE.build(
                key=key, value=encoded, version=1 if row is None else row[P_VERSION] + 1,
                updated_at=now)
            return True

    # -- dead letters --------------------------------------------------------------------------

    def dead_letters(self, instance_id: str | None = None) -> list[DeadLetterRecord]:
        with self._lock:
            self._check_open()
            rows = [r for r in self._dead.values()
                    if instance_id is None or r[D_INSTANCE] == instance_id]
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

    def restore_row(self, letter_id: int) -> bool:
        """Never anything to restore: this store only holds rows it encoded and checked."""
        with self._lock:
            self._check_open()
            if check_letter_id(letter_id) not in self._dead:
                return False
        raise StoreError(f"dead letter {letter_id} holds no set-aside row")

    # -- the shadow log ----------------------------------------------------------------------

    def add_shadow_records(self, records: Sequence[ShadowRecord]) -> None:
        rows = encode_shadows(records)
        with self._lock:
            self._check_open()
            for row in rows:
                self._shadow_id += 1
                self._shadows.append((self._shadow_id, *row))

    def shadow_records(self, chart: str, *, after: int = 0,
                       limit: int = 1000) -> list[ShadowRecord]:
        check_shadow_page(chart, after, limit)
        with self._lock:
            self._check_open()
            rows = [r for r in self._shadows if r[S_CHART] == chart and r[S_ID] > after]
        return [decode_shadow(r) for r in rows[:limit]]

    def delete_shadow_records(self, chart: str) -> int:
        with self._lock:
            self._check_open()
            kept = [r for r in self._shadows if r[S_CHART] != chart]
            gone, self._shadows = len(self._shadows) - len(kept), kept
            return gone

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
                "timers": [r[:TIMER_COLUMNS] for r in self._timers.values()],
                "dead_letters": list(self._dead.values()),
                "policy_state": list(self._policy.values()),
                "shadow_log": list(self._shadows),
            }
        return row_problems(tables)


if TYPE_CHECKING:  # the type checker proves MemoryStore implements the contract
    def _implements(store: MemoryStore) -> Store:
        return store
