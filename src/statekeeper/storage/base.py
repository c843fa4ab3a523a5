"""The store contract every backend implements (memory, SQLite, later PostgreSQL).

The runtime is the only writer of step results and talks to storage only through this
protocol, so every backend behaves the same; ``tests/storage/contract.py`` checks that.

Why the shape: ``apply`` takes *many* commits and writes them in one transaction (group commit:
one fsync for many instances), each guarded by its own optimistic ``rev`` check.  A commit
whose check fails is rolled back alone (a savepoint) and returned, so one conflicting instance
never costs the others their durability.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ._errors import (
    CommitUncertain,
    ForeignDatabase,
    InstanceExists,
    IntegrityError,
    NotADatabaseFile,
    RevisionBehindLog,
    SchemaTooNew,
    StoreError,
    StoreUnavailable,
    UnknownInstance,
)
from .audit import AuditCursor, AuditFilter
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

__all__ = [
    "CommitUncertain",
    "ForeignDatabase",
    "InstanceExists",
    "IntegrityError",
    "NotADatabaseFile",
    "RevisionBehindLog",
    "SchemaTooNew",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "UnknownInstance",
]


class Store(Protocol):
    """Durable (or, for tests, in-memory) storage of instances, logs, outbox and timers.

    Every method is safe to call from the runtime's threads; each call is its own transaction
    unless it says otherwise.  A store never reads the clock: every time it compares or writes
    (``now``, ``available_at``, ``due``, ``at``) is an argument, so virtual time drives it in
    tests.  Every backend copies records in and out, so a caller cannot mutate stored state.
    """

    def migrate(self) -> None:
        """Create or upgrade the schema to the latest version (idempotent)."""

    def close(self) -> None:
        """Release connections; later calls raise :class:`StoreError`."""

    # -- instances ---------------------------------------------------------------------------

    def load(self, instance_id: str) -> InstanceRecord:
        """Return the instance; raise :class:`UnknownInstance` or :class:`IntegrityError`."""

    def load_many(self, instance_ids: Sequence[str]) -> dict[str, InstanceRecord]:
        """The instances of ``instance_ids``, by id, read together.

        For a caller about to handle many instances at once (the engine's group): one read
        instead of one per instance.  An id that is unknown, or whose row is corrupted, is
        left out; :meth:`load` of it alone says which.
        """

    def apply(self, commits: Sequence[Commit]) -> list[Commit]:
        """Write ``commits`` in one transaction; return the ones whose rev check failed.

        A commit with ``expected_rev=None`` creates its instance; if the id exists it counts as
        a conflict (returned) and the caller raises :class:`InstanceExists`.  Everything else a
        commit names (transition rows, outbox rows, timer changes, the fired timer, the closed
        effect, the mailbox entry, dead letters) is written or rolled back with it.  The full
        list of conflicts is on :class:`~statekeeper.storage.records.Commit`.  Commits apply in
        order, so a later commit of the group may build on an earlier one's ``rev``; once a
        commit conflicts, every later commit of the same instance in the group conflicts too
        (it was built on a state that was not written, even if its ``rev`` happens to match
        one another writer committed).

        Raises:
            ValueError: a commit is malformed (an unknown status, a row of another instance, a
                value JSON cannot encode); nothing of the group is written.
            StoreUnavailable: the database stayed locked or unreachable.

        """

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
        """Instances matching every given filter, ordered by id, at most ``limit``.

        ``state`` matches any active state id (compound and parallel ancestors included).
        ``after`` is the last id of the previous page.

        A row that cannot be decoded raises :class:`IntegrityError`, unless ``corrupted`` is
        given: then it is appended there and left out, and reading goes on until ``limit``
        sound rows are found, so the last id of a page is always the ``after`` of the next.
        A corrupted row is reported whatever the ``state`` and ``labels`` filters say (they
        cannot be read from it).
        """

    # -- the audit log and the mailbox ---------------------------------------------------------

    def history(self, instance_id: str, *, limit: int | None = None,
                after: int = 0) -> list[TransitionRecord]:
        """The instance's transition rows by ``seq`` (the first ``limit`` when given).

        ``after`` skips the rows up to that ``seq``: pass the last one seen (or an answer's
        ``rev``) to read only what committed since.

        Raises :class:`UnknownInstance` when there is no such instance.
        """

    def audit(self, filters: AuditFilter, *, limit: int = 100,
              after: AuditCursor | None = None) -> list[TransitionRecord]:
        """Transition rows of any instances that pass every filter, by ``(at, id)``, a page.

        ``after`` is the ``(at, id)`` of the previous page's last row; see
        :mod:`statekeeper.storage.audit` for what each filter means.  A corrupted row raises
        :class:`IntegrityError`, as :meth:`history` does.
        """

    def prunable(self, before: float, *, limit: int = 1000,
                 after: AuditCursor | None = None) -> list[TransitionRecord]:
        """Rows old enough to prune, by ``(at, id)``: ``at < before``, not an instance's latest.

        Read a page at a time (``after`` as for :meth:`audit`); the retention code archives
        and deletes each log's beginning of them (:mod:`statekeeper.runtime.retention`).
        """

    def prune(self, rows: Sequence[tuple[str, int]]) -> int:
        """Delete the transition rows ``(instance, seq)`` in one transaction; return how many.

        An instance's latest row is never deleted (it proves its ``rev``), whatever ``rows``
        say; rows already gone are skipped.
        """

    def mailbox(self, instance_id: str, key: str) -> MailboxRecord | None:
        """The first result recorded for an idempotency key, if the key was seen."""

    def mailboxes(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], MailboxRecord]:
        """The first results recorded for ``(instance, key)`` pairs, those seen, read together.

        A pair left out was not seen; a corrupted row is left out too (:meth:`mailbox` of it
        alone raises).
        """

    # -- timers ------------------------------------------------------------------------------

    def due_timers(self, now: float, *, limit: int = 1000,
                   charts: Sequence[str] | None = None) -> list[TimerRecord]:
        """Timers due at or before ``now``, earliest first.

        With ``charts``, only the timers of instances of those charts (by name): what a
        process that serves only some charts can fire.  The others are left where they are,
        for a process that serves them, and never fill ``limit`` in place of fireable ones.
        A timer of no instance at all (a damaged store) is returned whatever ``charts`` say:
        firing it fails, and the failure is what tells an operator.

        A timer row that cannot be decoded is set aside (moved into a dead letter of kind
        ``row``, logged once as a warning), never returned, so it cannot stop the others.
        """

    def next_timer_due(self, after: float | None = None) -> float | None:
        """The earliest due time of any pending timer (of those due strictly after ``after``).

        A timer scan passes its own ``now`` as ``after``: the timers due by then are already
        on their way, and the one that matters is the next to come.
        """

    def timers(self, instance_id: str) -> list[TimerRecord]:
        """Pending timers of one instance, earliest first."""

    # -- the outbox ------------------------------------------------------------------------------

    def claim_effects(self, owner: str, now: float, lease: float, *,
                      limit: int = 100) -> list[EffectRecord]:
        """Lease up to ``limit`` runnable effects to ``owner`` until ``now + lease``.

        Runnable: pending with ``available_at <= now``, or running with an expired lease
        (``lease_until <= now``: a crashed worker's).  Oldest first (``available_at``, then
        ``id``).  Claiming sets ``running``, ``lease_owner = owner``, ``lease_until = now +
        lease`` and increments ``attempts``, all in one transaction.

        What every backend must guarantee, however it achieves it:

        * **One claimer per effect.**  A row is returned to at most one caller per lease: two
          claims that overlap in time, from any threads, processes or machines, never both
          return the same row while its lease is live.  (SQLite gets this from its single
          write lock and one ``UPDATE ... RETURNING``; a server database from row locks, such
          as ``FOR UPDATE SKIP LOCKED``, in the claiming transaction.)
        * **Leases, not ownership.**  A lease is held until ``lease_until`` and no longer:
          once it has passed, the row is runnable again and another claim may take it (and
          count another attempt).  Only the holder may extend it (:meth:`extend_lease`) or
          give it back (:meth:`release_effect`), and both fail, returning ``False``, once the
          row was reclaimed or closed; so a worker that lost its lease learns it before
          reporting an outcome, and an outcome for a closed row is a conflict
          (``Commit.effect_finished``).
        * **Nothing lost.**  A claim that fails (the database is unreachable, the transaction
          rolls back) changes no row: every runnable effect stays runnable.
        * **One bad row stops nothing.**  A row that cannot be decoded is set aside as a dead
          letter of kind ``row``, in the same transaction, and the others are claimed.

        Claims use the caller's ``now``; the clocks of the processes sharing a store are
        assumed to agree to well within a lease period.
        """

    def effects(self, instance_id: str | None = None,
                status: str | None = None) -> list[EffectRecord]:
        """Outbox rows, optionally filtered, oldest first."""

    def extend_lease(self, key: str, owner: str, until: float) -> bool:
        """Extend a held lease; ``False`` if ``owner`` no longer holds it (reclaimed or closed)."""

    def release_effect(self, key: str, owner: str, *, available_at: float,
                       error: str | None, refund: bool = False) -> bool:
        """Give a claimed effect back for a later attempt (backoff), recording ``error``.

        The row becomes ``pending`` until ``available_at``, its lease cleared; ``error`` (when
        given) becomes ``last_error`` and is appended to ``errors``.  ``refund`` takes back the
        attempt the claim counted: no call was made (a bulkhead was full, a rate limit said
        wait).  ``False`` if ``owner`` no longer holds the lease.
        """

    def count_running(self, name: str, now: float) -> int:
        """Effects called ``name`` running under a live lease (``lease_until > now``).

        What a bulkhead counts: a crashed worker's rows stop counting when their lease ends.
        """

    # -- shared policy state -------------------------------------------------------------------

    def policy_state(self, key: str) -> PolicyStateRecord | None:
        """The shared state of a breaker or rate limit, or ``None`` if none was written yet."""

    def put_policy_state(self, key: str, value: dict[str, Any], *, expected_version: int | None,
                         now: float) -> bool:
        """Write a policy's state if nobody wrote it since it was read (compare and set).

        ``expected_version`` is the version read (``None``: the key must not exist yet).
        Returns ``False``, writing nothing, when another writer got there first: read again,
        decide again.
        """

    # -- dead letters ------------------------------------------------------------------------

    def dead_letters(self, instance_id: str | None = None) -> list[DeadLetterRecord]:
        """Dead letters, oldest first."""

    def dead_letter(self, letter_id: int) -> DeadLetterRecord | None:
        """One dead letter by id, or ``None`` (never written, or since deleted)."""

    def delete_dead_letter(self, letter_id: int) -> bool:
        """Remove a dead letter (after it was replayed or discarded)."""

    def restore_row(self, letter_id: int) -> bool:
        """Put the row a ``row`` dead letter holds back into its table, as it was; drop the letter.

        ``False`` when there is no such letter.  Raises :class:`StoreError` when the letter
        holds no set-aside row, or the row cannot go back (its key is taken again).
        """

    # -- the shadow log ----------------------------------------------------------------------

    def add_shadow_records(self, records: Sequence[ShadowRecord]) -> None:
        """Append what shadows compared (one transaction).

        Raises:
            TypeError: a record is not a :class:`ShadowRecord`, or holds a wrong type.

        """

    def shadow_records(self, chart: str, *, after: int = 0,
                       limit: int = 1000) -> list[ShadowRecord]:
        """``chart``'s shadow records with an id above ``after``, oldest first, at most ``limit``."""

    def delete_shadow_records(self, chart: str) -> int:
        """Forget ``chart``'s shadow records; how many there were."""

    # -- gauges ------------------------------------------------------------------------------

    def state_counts(self) -> dict[tuple[str, str, str], int]:
        """Active instances per ``(chart, version, state)``, read without a scan of instances.

        A state counts every active instance whose configuration holds it (compound and
        parallel ancestors included).  The store keeps the numbers as it writes instance rows,
        in the same transaction, so they are exact after any crash; a state whose instances
        all left it may stay listed with 0.  What a Prometheus scrape reads
        (:mod:`statekeeper.runtime.gauges`).
        """

    def stuck_count(self, chart: str, state: str, before: float) -> int:
        """Active instances of ``chart`` in ``state`` whose configuration is older than ``before``.

        An instance's configuration dates from the commit that last changed it (a commit of
        data only keeps the date).  Reads only the chart's active instances that entered
        their configuration before ``before``, by an index.
        """

    def recount_states(self, *, repair: bool = False) -> dict[tuple[str, str, str],
                                                               tuple[int, int]]:
        """Count the active instances per state for real, against the counts kept.

        Returns, for each ``(chart, version, state)`` where they differ, ``(kept, counted)``
        (empty: the counts are exact).  Why it exists: the kept counts are the gauge's only
        source, so a count table edited by hand, or restored apart from its instances, would
        be believed forever.  Reads every active instance, in one snapshot.  ``repair``
        replaces the kept counts by the real ones in the same transaction, with writers held
        off until it commits, so no step is counted twice or lost.
        """

    # -- checks ------------------------------------------------------------------------------

    def integrity_check(self) -> list[str]:
        """Problems found (an empty list when the store is consistent).

        Decodes every row (a corrupted one is reported, naming its table and key) and checks
        cross-row consistency: transitions, mailbox, outbox rows and timers of unknown
        instances, gaps in an instance's ``seq``, and timers of finished instances.
        """
