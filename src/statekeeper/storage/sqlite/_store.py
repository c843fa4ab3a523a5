"""The embedded store: one SQLite file in WAL mode, ``synchronous=FULL`` by default.

Group commit is the reason for the shape of :meth:`SQLiteStore.apply`: one ``BEGIN IMMEDIATE``
transaction (one fsync) carries the commits of many instances, each guarded by its own
optimistic check.  A commit that conflicts is undone alone and returned; the others keep their
place in the same fsync.

A group of plain steps is written one statement per kind of row (``_batch.py``); any other
group one commit at a time, and after a race the rev check cannot see, with a savepoint per
commit (``_commit.py``).  Rows are encoded before the write lock is taken, so the lock is held
for SQL only.
"""

from __future__ import annotations

import heapq
import os
import sqlite3
from collections.abc import Mapping, Sequence
from functools import partial
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from .._arguments import (
    check_charts,
    check_ids,
    check_keys,
    check_letter_id,
    check_time,
    history_window,
    query_filters,
)
from .._codec import (
    INSTANCE_STATUSES,
    dumps,
    encode_commit,
)
from .._decode import (
    decode_dead_letter,
    decode_effect,
    decode_instance,
    decode_loaded_instance,
    decode_mailbox,
    decode_policy_state,
    decode_problems,
    decode_shadow,
    decode_timer,
    decode_transition,
    decoded,
    decoded_or_report,
)
from .._integrity import done_timer, orphan, seq_gap
from .._shadow_rows import check_shadow_page, encode_shadows
from ..adapters import SQLITE
from ..base import IntegrityError, StoreUnavailable, UnknownInstance
from ..records import (
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
from ..tables import INSTANCES, TABLES
from ._aside import restore_row_txn, set_aside_txn
from ._audit import AuditQueries
from ._batch import Redo, apply_batched_txn, batchable
from ._commit import apply_txn
from ._connection import SYNCHRONOUS, Connections
from ._file import check_file
from ._gauges import GaugeQueries
from ._schema import QUERIES as Q
from ._schema import check_version, migrate_txn, schema_version

if TYPE_CHECKING:
    from ..base import Store

__all__ = ["SQLiteStore"]

_ID = INSTANCES.at("id")


def _claim_txn(params: dict[str, Any], cur: sqlite3.Cursor) -> list[EffectRecord]:
    # decoded inside the transaction: a corrupted row is set aside in it, the rest claimed
    claimed: list[EffectRecord] = []
    bad: list[Any] = []
    for row in cur.execute(Q["claim_effects"], params).fetchall():
        try:
            claimed.append(decode_effect(row))
        except IntegrityError:
            bad.append(row)
    if bad:
        set_aside_txn("outbox", bad, params["now"], cur)
    claimed.sort(key=lambda e: (e.available_at, e.id or 0))
    return claimed


def _integrity_txn(cur: sqlite3.Cursor) -> list[str]:
    problems = [f"PRAGMA integrity_check: {r[0]}" for r in cur.execute("PRAGMA integrity_check")
                if r[0] != "ok"]
    for table in TABLES:
        problems += decode_problems(table, cur.execute(Q[f"all_{table}"]))
    problems += [orphan(table, iid) for table, iid in cur.execute(Q["check_orphans"])]
    problems += [seq_gap(*row) for row in cur.execute(Q["check_seq_gaps"])]
    problems += [done_timer(iid, tid) for iid, tid in cur.execute(Q["check_timers_of_done"])]
    return problems


class SQLiteStore(AuditQueries, GaugeQueries):
    """Instances, the audit log, mailbox, outbox, timers and dead letters in one SQLite file.

    Args:
        path: the database file (created if missing).  ``:memory:`` is refused: every thread
            has its own connection and would see its own empty database; use ``MemoryStore``.
        synchronous: ``PRAGMA synchronous``; ``FULL`` (the default) fsyncs every commit, so a
            commit that returned survives power loss.
        busy_timeout: seconds an operation may wait for another writer (the deadline) before
            :class:`StoreUnavailable` is raised.
        retries: at most this many retries of a busy transaction within the deadline
            (``None``: as many as fit; a retry comes every millisecond or two).
        allow_foreign_tables: use a database that also holds tables of another program (by
            default such a file is refused, unchanged, as another program's database).

    Raises:
        StoreUnavailable: the file cannot be opened.
        SchemaTooNew: the file was written by a newer statekeeper.
        ForeignDatabase: the file holds tables statekeeper did not create.
        NotADatabaseFile: the path is a directory, pipe or device, or a file that is not a
            SQLite database.

    """

    def __init__(self, path: str | os.PathLike[str], *, synchronous: str = "FULL",
                 busy_timeout: float = 5.0, retries: int | None = None,
                 allow_foreign_tables: bool = False) -> None:
        self.path = os.fspath(path)
        if self.path == ":memory:" or self.path.startswith("file:"):
            raise ValueError(f"SQLiteStore needs a file path, not {self.path!r}; "
                             "use MemoryStore for a store in memory")
        if not isinstance(synchronous, str) or synchronous.upper() not in SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {SYNCHRONOUS}, not {synchronous!r}")
        if (isinstance(busy_timeout, bool) or not isinstance(busy_timeout, (int, float))
                or not busy_timeout > 0):
            raise ValueError(f"busy_timeout must be a number of seconds > 0, not {busy_timeout!r}")
        if retries is not None and (isinstance(retries, bool) or not isinstance(retries, int)
                                    or retries < 0):
            raise ValueError(f"retries must be a whole number >= 0 or None, not {retries!r}")
        folder = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(folder):
            raise StoreUnavailable(f"SQLite database {self.path!r} cannot be created: its "
                                   f"folder {folder!r} does not exist")
        if type(allow_foreign_tables) is not bool:
            raise TypeError(f"allow_foreign_tables takes True or False, not "
                            f"{allow_foreign_tables!r}")
        check_file(self.path, allow_foreign_tables=allow_foreign_tables)  # before any change
        self._db = Connections(self.path, synchronous=synchronous.upper(),
                               busy_timeout=busy_timeout, retries=retries)
        try:
            check_version(self._db.read(schema_version), self.path)
        except BaseException:
            self._db.close()
            raise

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    def migrate(self) -> None:
        """Apply the missing schema migrations in one transaction (idempotent)."""
        self._db.write(partial(migrate_txn, path=self.path))

    def close(self) -> None:
        self._db.close()

    def _rows(self, sql: str, params: Sequence[Any] | Mapping[str, Any]) -> list[Any]:
        return self._db.read(lambda cur: cur.execute(sql, params).fetchall())

    def _change(self, sql: str, params: Sequence[Any]) -> int:
        return self._db.write(lambda cur: cur.execute(sql, params).rowcount)

    # -- instances -----------------------------------------------------------------------------

    def load(self, instance_id: str) -> InstanceRecord:
        rows = self._rows(Q["load_instance"], (instance_id,))
        if not rows:
            raise UnknownInstance(instance_id)
        return decode_loaded_instance(rows[0])

    def load_many(self, instance_ids: Sequence[str]) -> dict[str, InstanceRecord]:
        ids = check_ids(instance_ids)
        rows = self._rows(Q["load_instances"], (SQLITE.list_param(ids),)) if ids else []
        return {record.id: record
                for row in rows for record in decoded(decode_loaded_instance, row)}

    def apply(self, commits: Sequence[Commit]) -> list[Commit]:
        """Write ``commits`` in one transaction, one savepoint each; return the conflicts."""
        if not commits:
            return []
        encoded = [encode_commit(c) for c in commits]
        try:
            if batchable(encoded):  # the common case: one statement per kind of row
                return self._db.write(partial(apply_batched_txn, encoded))
            # no savepoints: a stale rev is caught before anything of its commit is written
            return self._db.write(partial(apply_txn, encoded, False))
        except Redo:  # a race found after a first write: one savepoint per commit
            return self._db.write(partial(apply_txn, encoded, True))

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
        params = {"chart": chart, "state": state, "status": status,
                  "labels": dumps(labels) if labels else None}
        found: list[InstanceRecord] = []
        position: Any = after
        while True:  # more than one read only when a corrupted row was left out
            want = limit - len(found)
            rows = self._query_rows({**params, "after": position, "limit": want})
            for row in rows:
                found += decoded_or_report(decode_instance, row, "instances", corrupted)
            if len(rows) < want or len(found) >= limit:
                return found
            position = rows[-1][_ID]

    def _query_rows(self, params: dict[str, Any]) -> list[Any]:
        """Up to ``limit`` raw rows of a query, in id order."""
        chart, status, limit = params["chart"], params["status"], params["limit"]
        if chart is None:
            return self._rows(Q["query_instances"], params)
        statuses = sorted(INSTANCE_STATUSES) if status is None else [status]

        def by_status(cur: sqlite3.Cursor) -> list[Any]:
            found = [cur.execute(Q["query_chart_status_instances"], {**params, "status": s})
                     .fetchall() for s in statuses]
            return list(heapq.merge(*found, key=itemgetter(_ID)))[:limit]

        return self._db.read(by_status, snapshot=True)

    # -- the audit log and the mailbox -----------------------------------------------------------

    def history(self, instance_id: str, *, limit: int | None = None,
                after: int = 0) -> list[TransitionRecord]:
        limit, after = history_window(limit, after)
        rows = self._rows(Q["history"], (instance_id, after, -1 if limit is None else limit))
        if not rows and not self._rows(Q["instance_exists"], (instance_id,)):
            raise UnknownInstance(instance_id)
        return [decode_transition(r) for r in rows]

    def mailboxes(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], MailboxRecord]:
        pairs = check_keys(keys)
        rows = (self._rows(Q["load_mailboxes"], (SQLITE.list_param(pairs),)) if pairs
                else [])
        return {(m.instance, m.key): m for row in rows for m in decoded(decode_mailbox, row)}

    def mailbox(self, instance_id: str, key: str) -> MailboxRecord | None:
        rows = self._rows(Q["load_mailbox"], (instance_id, key))
        return decode_mailbox(rows[0]) if rows else None

    # -- timers ------------------------------------------------------------------------------------

    def due_timers(self, now: float, *, limit: int = 1000,
                   charts: Sequence[str] | None = None) -> list[TimerRecord]:
        """Due timers; a malformed timer row is set aside as a dead letter, not returned."""
        served = check_charts(charts)
        query, args = ((Q["due_timers"], (now, limit)) if served is None else
                       (Q["due_timers_of_charts"], (now, SQLITE.list_param(served), limit)))
        rows = self._db.read(lambda cur: cur.execute(query, args).fetchall()
                             + cur.execute(Q["misfiled_timers"], (limit,)).fetchall(),
                             snapshot=True)
        due: list[TimerRecord] = []
        bad: list[Any] = []
        for row in rows:
            try:
                due.append(decode_timer(row))
            except IntegrityError:
                bad.append(row)
        if bad:
            self._db.write(partial(set_aside_txn, "timers", bad, now))
        return due

    def next_timer_due(self, after: float | None = None) -> float | None:
        check_time(after, "after")
        due = (self._rows(Q["next_timer_due"], ()) if after is None
               else self._rows(Q["next_timer_due_after"], (after,)))[0][0]
        if due is not None and type(due) not in (int, float):
            raise IntegrityError(f"corrupted row in table 'timers': due is {due!r}")
        return None if due is None else float(due)

    def timers(self, instance_id: str) -> list[TimerRecord]:
        return [decode_timer(r) for r in self._rows(Q["instance_timers"], (instance_id,))]

    # -- the outbox --------------------------------------------------------------------------------

    def claim_effects(self, owner: str, now: float, lease: float, *,
                      limit: int = 100) -> list[EffectRecord]:
        """Lease runnable effects with one ``UPDATE ... RETURNING`` under ``BEGIN IMMEDIATE``.

        Exactly-once claiming needs no row locks in SQLite: the write lock admits one claimer
        at a time, and the select and the update are one statement, so a row leased by one
        claimer is no longer runnable when the next one looks.
        """
        params = {"owner": owner, "until": now + lease, "now": now, "limit": limit}
        return self._db.write(partial(_claim_txn, params))

    def effects(self, instance_id: str | None = None,
                status: str | None = None) -> list[EffectRecord]:
        rows = self._rows(Q["list_effects"], {"instance": instance_id, "status": status})
        return [decode_effect(r) for r in rows]

    def extend_lease(self, key: str, owner: str, until: float) -> bool:
        return self._change(Q["extend_lease"], (until, key, owner)) == 1

    def release_effect(self, key: str, owner: str, *, available_at: float,
                       error: str | None, refund: bool = False) -> bool:
        return self._change(Q["release_effect"],
                            (available_at, error, key, owner, int(refund))) == 1

    def count_running(self, name: str, now: float) -> int:
        return int(self._rows(Q["count_running"], (name, now))[0][0])

    # -- shared policy state -------------------------------------------------------------------

    def policy_state(self, key: str) -> PolicyStateRecord | None:
        rows = self._rows(Q["load_policy_state"], (key,))
        return decode_policy_state(rows[0]) if rows else None

    def put_policy_state(self, key: str, value: dict[str, Any], *, expected_version: int | None,
                         now: float) -> bool:
        encoded = dumps(value)
        if expected_version is None:
            return self._change(Q["insert_policy_state"], (key, encoded, now)) == 1
        return self._change(Q["update_policy_state"],
                            (encoded, now, key, expected_version)) == 1

    # -- dead letters --------------------------------------------------------------------------

    def dead_letters(self, instance_id: str | None = None) -> list[DeadLetterRecord]:
        if instance_id is None:
            return [decode_dead_letter(r) for r in self._rows(Q["list_dead_letters"], ())]
        rows = self._rows(Q["instance_dead_letters"], (instance_id,))
        return [decode_dead_letter(r) for r in rows]

    def dead_letter(self, letter_id: int) -> DeadLetterRecord | None:
        rows = self._rows(Q["load_dead_letter"], (check_letter_id(letter_id),))
        return decode_dead_letter(rows[0]) if rows else None

    def delete_dead_letter(self, letter_id: int) -> bool:
        return self._change(Q["delete_dead_letter"], (check_letter_id(letter_id),)) == 1

    def restore_row(self, letter_id: int) -> bool:
        return self._db.write(partial(restore_row_txn, check_letter_id(letter_id)))

    # -- the shadow log ----------------------------------------------------------------------

    def add_shadow_records(self, records: Sequence[ShadowRecord]) -> None:
        rows = encode_shadows(records)
        if rows:
            self._db.write(lambda cur: cur.executemany(Q["insert_shadow"], rows).rowcount)

    def shadow_records(self, chart: str, *, after: int = 0,
                       limit: int = 1000) -> list[ShadowRecord]:
        check_shadow_page(chart, after, limit)
        return [decode_shadow(r) for r in self._rows(Q["chart_shadows"], (chart, after, limit))]

    def delete_shadow_records(self, chart: str) -> int:
        return self._change(Q["delete_shadows"], (chart,))

    # -- checks ------------------------------------------------------------------------------

    def integrity_check(self) -> list[str]:
        """``PRAGMA integrity_check``, every row decoded, and the cross-row rules, in one read."""
        return self._db.read(_integrity_txn, snapshot=True)


if TYPE_CHECKING:  # the type checker proves SQLiteStore implements the contract
    def _implements(store: SQLiteStore) -> Store:
        return store
