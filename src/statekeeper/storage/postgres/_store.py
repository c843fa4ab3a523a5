"""The PostgreSQL store: the ``Store`` protocol over one schema, shared by many processes.

It behaves as the memory and SQLite stores do (the contract suite in ``tests/storage`` runs on
all three); what differs is only how.  Rows are built and read by column name as in every store
(the shared encoder and decoders, with the PostgreSQL adapter: ``jsonb`` and ``boolean``), and
``_rows.py`` adds what only PostgreSQL needs; SQL is in ``queries.sql``; a group commit is
written as ``_commit.py`` says; connections come from a pool and a transaction that loses a
race (a deadlock) is run again (``_use.py``).

What makes it safe for many processes at once: each commit's optimistic ``rev`` check and its
inserts that find a row taken (``ON CONFLICT DO NOTHING``, counted); ``claim_effects`` with
``FOR UPDATE SKIP LOCKED`` under leases; a fired timer deleted by the commit that fires it (a
second firing finds it gone: a conflict); policy state written by compare and set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
from .._codec import dumps, encode_commit
from .._decode import decoded, decoded_or_report
from .._integrity import done_timer, orphan, seq_gap
from .._shadow_rows import check_shadow_page, encode_shadows
from ..adapters import POSTGRES
from ..base import IntegrityError, SchemaTooNew, UnknownInstance
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
from ..signals import SignalHandlers
from ..tables import INSTANCES, TABLES
from ._aside import restore_row_txn, set_aside_txn
from ._audit import AuditQueries
from ._commit import apply_group
from ._gauges import GaugeQueries
from ._pool import Connection
from ._rows import ROWS, keep_floats, prepare
from ._schema import LATEST, apply_migrations, schema_version
from ._settings import PostgresSettings, parse_postgres_url
from ._signals import PostgresSignals
from ._use import Database, q

if TYPE_CHECKING:
    from ..base import Store

__all__ = ["PostgresStore"]

_ID = INSTANCES.at("id")


def _integrity_txn(conn: Connection) -> list[str]:
    problems: list[str] = []
    for table in TABLES:
        problems += ROWS.problems(table, conn.execute(q(f"all_{table}")))
    problems += [orphan(table, iid) for table, iid in conn.execute(q("check_orphans"))]
    problems += [seq_gap(*row) for row in conn.execute(q("check_seq_gaps"))]
    problems += [done_timer(iid, tid) for iid, tid in conn.execute(q("check_timers_of_done"))]
    return problems


class PostgresStore(AuditQueries, GaugeQueries):
    """Instances, the audit log, mailbox, outbox, timers and dead letters in one schema.

    Args:
        url: a ``postgresql://`` URL (its ``schema=`` and pool options: see
            ``docs/postgres.md``), or settings parsed from one.

    Raises:
        InvalidStoreURL: the URL says something the store cannot use.
        StoreUnavailable: the server cannot be reached (a subclass names why:
            ``ServerUnreachable``, ``DatabaseNotFound``, ``CredentialsRefused``).
        SchemaTooNew: the schema was written by a newer statekeeper.

    """

    def __init__(self, url: str | PostgresSettings) -> None:
        self.settings = parse_postgres_url(url) if isinstance(url, str) else url
        self._db = Database(self.settings)
        try:
            version = self._db.read(lambda conn: schema_version(conn, self.settings.schema))
            if version > LATEST:
                raise SchemaTooNew(
                    f"{self.settings.display}: schema {self.settings.schema!r} has statekeeper "
                    f"schema version {version}, but this statekeeper knows versions up to "
                    f"{LATEST}; it was written by a newer statekeeper. Upgrade statekeeper to "
                    f"use it (it is not modified)")
        except BaseException:
            self._db.close()
            raise

    def __repr__(self) -> str:
        return f"PostgresStore({self.settings.display!r}, schema={self.settings.schema!r})"

    @property
    def retries(self) -> dict[str, int]:
        """Transactions this store ran again after PostgreSQL aborted them, by SQLSTATE.

        ``40P01`` counts deadlocks, ``40001`` serialization failures: both abort a
        transaction that did nothing wrong, which is then run again (see
        ``docs/postgres.md``).  For monitoring, and for tests that show a change removes them.
        """
        return self._db.retries

    def migrate(self) -> None:
        """Apply the missing schema versions, each under the schema's advisory lock."""
        with self._db.pool.connection() as conn:
            apply_migrations(conn, self.settings)

    def close(self) -> None:
        self._db.close()

    def open_signals(self, handlers: SignalHandlers) -> PostgresSignals:
        """Listen for committed work and try to lead, on a connection outside the pool.

        Used by the runtime's worker (see :mod:`statekeeper.storage.signals`); close what
        this returns before closing the store.
        """
        return PostgresSignals(self.settings, handlers)

    def _rows(self, name: str, params: Any = ()) -> list[Any]:
        return self._db.rows(name, params)

    # -- instances -----------------------------------------------------------------------------

    def load(self, instance_id: str) -> InstanceRecord:
        rows = self._rows("load_instance", (instance_id,))
        if not rows:
            raise UnknownInstance(instance_id)
        return ROWS.loaded_instance(rows[0])

    def load_many(self, instance_ids: Sequence[str]) -> dict[str, InstanceRecord]:
        ids = check_ids(instance_ids)
        rows = self._rows("load_instances", (ids,)) if ids else []
        return {record.id: record
                for row in rows for record in decoded(ROWS.loaded_instance, row)}

    def apply(self, commits: Sequence[Commit]) -> list[Commit]:
        """Write ``commits`` in one transaction; return the conflicts (see ``_commit.py``)."""
        if not commits:
            return []
        encoded = [encode_commit(c, POSTGRES) for c in commits]
        for e in encoded:
            prepare(e)
        return apply_group(self._db, encoded)

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
        wanted = query_filters(chart, state, labels, status, limit, after)
        name = "query_instances" if state is None else "query_state_instances"
        params = {"chart": chart, "state": state, "status": status,
                  "labels": dumps(wanted) if wanted else None}
        found: list[InstanceRecord] = []
        position: Any = after
        while True:  # more than one read only when a corrupted row was left out
            want = limit - len(found)
            rows = self._rows(name, {**params, "after": position, "limit": want})
            for row in rows:
                found += decoded_or_report(ROWS.instance, row, "instances", corrupted)
            if len(rows) < want or len(found) >= limit:
                return found
            position = rows[-1][_ID]

    # -- the audit log and the mailbox -----------------------------------------------------------

    def history(self, instance_id: str, *, limit: int | None = None,
                after: int = 0) -> list[TransitionRecord]:
        limit, after = history_window(limit, after)
        rows = self._rows("history", (instance_id, after, limit))
        if not rows and not self._rows("instance_exists", (instance_id,)):
            raise UnknownInstance(instance_id)
        return [ROWS.transition(r) for r in rows]

    def mailboxes(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], MailboxRecord]:
        pairs = check_keys(keys)
        rows = (self._rows("load_mailboxes", ([p[0] for p in pairs], [p[1] for p in pairs]))
                if pairs else [])
        return {(m.instance, m.key): m for row in rows for m in decoded(ROWS.mailbox, row)}

    def mailbox(self, instance_id: str, key: str) -> MailboxRecord | None:
        rows = self._rows("load_mailbox", (instance_id, key))
        return ROWS.mailbox(rows[0]) if rows else None

    # -- timers ------------------------------------------------------------------------------------

    def due_timers(self, now: float, *, limit: int = 1000,
                   charts: Sequence[str] | None = None) -> list[TimerRecord]:
        """Due timers; a malformed timer row is set aside as a dead letter, not returned."""
        served = check_charts(charts)
        due: list[TimerRecord] = []
        bad: list[Any] = []
        rows = (self._rows("due_timers", (now, limit)) if served is None
                else self._rows("due_timers_of_charts", (now, served, limit)))
        for row in rows:
            try:
                due.append(ROWS.timer(row))
            except IntegrityError:
                bad.append(row)
        if bad:
            self._db.write(lambda conn: set_aside_txn("timers", bad, now, conn))
        return due

    def next_timer_due(self, after: float | None = None) -> float | None:
        check_time(after, "after")
        due = (self._rows("next_timer_due") if after is None
               else self._rows("next_timer_due_after", (after,)))[0][0]
        return None if due is None else float(due)

    def timers(self, instance_id: str) -> list[TimerRecord]:
        return [ROWS.timer(r) for r in self._rows("instance_timers", (instance_id,))]

    # -- the outbox --------------------------------------------------------------------------------

    def claim_effects(self, owner: str, now: float, lease: float, *,
                      limit: int = 100) -> list[EffectRecord]:
        """Lease runnable effects: ``FOR UPDATE SKIP LOCKED``, then one ``UPDATE`` of them.

        Claimers in any number of processes skip each other's locked rows instead of waiting,
        and a row leased by another claimer meanwhile is no longer runnable once locked, so
        no row is ever held by two owners.  A row that cannot be decoded is set aside, in the
        same transaction, and the others are claimed.
        """
        params = {"owner": owner, "until": now + lease, "now": now, "limit": limit}

        def claim(conn: Connection) -> list[EffectRecord]:
            claimed: list[EffectRecord] = []
            bad: list[Any] = []
            for row in conn.execute(q("claim_effects"), params).fetchall():
                try:
                    claimed.append(ROWS.effect(row))
                except IntegrityError:
                    bad.append(row)
            if bad:
                set_aside_txn("outbox", bad, now, conn)
            claimed.sort(key=lambda e: (e.available_at, e.id or 0))
            return claimed

        return self._db.write(claim)

    def effects(self, instance_id: str | None = None,
                status: str | None = None) -> list[EffectRecord]:
        rows = self._rows("list_effects", {"instance": instance_id, "status": status})
        return [ROWS.effect(r) for r in rows]

    def extend_lease(self, key: str, owner: str, until: float) -> bool:
        return self._db.change("extend_lease", (until, key, owner)) == 1

    def release_effect(self, key: str, owner: str, *, available_at: float,
                       error: str | None, refund: bool = False) -> bool:
        return self._db.change("release_effect", {
            "available_at": available_at, "error": error, "key": key, "owner": owner,
            "refund": int(refund)}) == 1

    def count_running(self, name: str, now: float) -> int:
        return int(self._rows("count_running", (name, now))[0][0])

    # -- shared policy state -------------------------------------------------------------------

    def policy_state(self, key: str) -> PolicyStateRecord | None:
        rows = self._rows("load_policy_state", (key,))
        return ROWS.policy_state(rows[0]) if rows else None

    def put_policy_state(self, key: str, value: dict[str, Any], *, expected_version: int | None,
                         now: float) -> bool:
        """Compare and set: a concurrent writer of the row waits, then finds the version moved."""
        encoded = keep_floats(dumps(value))
        if expected_version is None:
            return self._db.change("insert_policy_state", (key, encoded, now)) == 1
        return self._db.change("update_policy_state",
                               (encoded, now, key, expected_version)) == 1

    # -- dead letters --------------------------------------------------------------------------

    def dead_letters(self, instance_id: str | None = None) -> list[DeadLetterRecord]:
        rows = (self._rows("list_dead_letters") if instance_id is None
                else self._rows("instance_dead_letters", (instance_id,)))
        return [ROWS.dead_letter(r) for r in rows]

    def dead_letter(self, letter_id: int) -> DeadLetterRecord | None:
        rows = self._rows("load_dead_letter", (check_letter_id(letter_id),))
        return ROWS.dead_letter(rows[0]) if rows else None

    def delete_dead_letter(self, letter_id: int) -> bool:
        return self._db.change("delete_dead_letter", (check_letter_id(letter_id),)) == 1

    def restore_row(self, letter_id: int) -> bool:
        letter = check_letter_id(letter_id)
        return self._db.write(lambda conn: restore_row_txn(letter, conn))

    # -- the shadow log ----------------------------------------------------------------------

    def add_shadow_records(self, records: Sequence[ShadowRecord]) -> None:
        rows = encode_shadows(records)
        if rows:
            self._db.write(lambda conn: conn.cursor().executemany(q("insert_shadow"), rows))

    def shadow_records(self, chart: str, *, after: int = 0,
                       limit: int = 1000) -> list[ShadowRecord]:
        check_shadow_page(chart, after, limit)
        return [ROWS.shadow(r) for r in self._rows("chart_shadows", (chart, after, limit))]

    def delete_shadow_records(self, chart: str) -> int:
        return self._db.change("delete_shadows", (chart,))

    # -- checks ------------------------------------------------------------------------------

    def integrity_check(self) -> list[str]:
        """Every row decoded and the cross-row rules checked, in one snapshot."""
        return self._db.read(_integrity_txn, snapshot=True)


if TYPE_CHECKING:  # the type checker proves PostgresStore implements the contract
    def _implements(store: PostgresStore) -> Store:
        return store
