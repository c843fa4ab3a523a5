"""The storage errors: what a store raises, each with a message that says what to do.

Apart from :mod:`.base` (the contract) for size; :mod:`.base` re-exports every name.
"""

from __future__ import annotations

from ..core.errors import StatekeeperError

__all__ = [
    "CommitUncertain",
    "ForeignDatabase",
    "InstanceExists",
    "IntegrityError",
    "NotADatabaseFile",
    "RevisionBehindLog",
    "SchemaTooNew",
    "StoreError",
    "StoreUnavailable",
    "UnknownInstance",
]


class StoreError(StatekeeperError):
    """A storage problem."""


class UnknownInstance(StoreError, KeyError):
    """No instance has that id."""

    def __init__(self, instance_id: str) -> None:
        self.instance_id = instance_id
        super().__init__(f"no instance {instance_id!r}")

    def __str__(self) -> str:
        return f"no instance {self.instance_id!r}"


class InstanceExists(StoreError):
    """An instance with that id already exists."""

    def __init__(self, instance_id: str) -> None:
        self.instance_id = instance_id
        super().__init__(f"instance {instance_id!r} already exists")


class StoreUnavailable(StoreError):
    """The database stayed locked or unreachable after the configured retries."""


class CommitUncertain(StoreUnavailable):
    """The connection was lost while the database committed: the write may have landed.

    Only a database server reached over a connection can leave this doubt (the server may
    have committed and then failed to answer).  The runtime's engine resolves it by reading
    each step's log row back; a caller hears of it only when that read failed too.  A
    :class:`StoreUnavailable`, so code that retries on one keeps working, provided it retries
    with the same idempotency key (a repeat is answered as a duplicate) or reads the
    instance's history first.
    """


class IntegrityError(StoreError):
    """A stored row is corrupted or inconsistent; it is refused, never silently repaired."""


class ForeignDatabase(StoreError):
    """The database holds tables statekeeper did not create: another program's, most likely.

    Refused so that opening a store never adds tables to another program's database nor
    switches it to WAL mode.  Share one file on purpose with ``allow_foreign_tables=True``
    (``SQLiteStore``) or ``?allow_foreign_tables=1`` (a ``sqlite:///`` URL).
    """

    def __init__(self, path: str, tables: tuple[str, ...]) -> None:
        self.path = path
        self.tables = tables
        super().__init__(
            f"SQLite database {path!r} is not a statekeeper database: it holds tables "
            f"statekeeper did not create ({', '.join(tables)}), another program's most likely, "
            f"and was left as it is. Use a file of its own, or, to share this one on purpose, pass "
            f"allow_foreign_tables=True (a URL: sqlite:///{path}?allow_foreign_tables=1)")


class NotADatabaseFile(IntegrityError):
    """The path names a directory, pipe, device or socket, or a file that is no SQLite database.

    An :class:`IntegrityError`, as a file whose bytes are no database always was.
    """


class RevisionBehindLog(IntegrityError):
    """An instance row's ``rev`` is behind its own transition log (the row was rewound).

    Each commit writes the log row numbered ``rev + 1``, so such an instance can never commit
    again: every step collides with a row already logged.  Restored from an old backup, or
    edited by hand; ``statekeeper check`` lists every such row.
    """

    def __init__(self, instance_id: str, rev: int, last_seq: int) -> None:
        self.instance_id = instance_id
        self.rev = rev
        self.last_seq = last_seq
        super().__init__(
            f"instance {instance_id!r}: its row is at rev {rev} but its transition log "
            f"already holds seq {last_seq}: the row was rewound (restored from an older copy, "
            f"or edited), so no step of it can commit; nothing was applied. Run "
            f"`statekeeper check` on the database and restore the row that matches its log")


class SchemaTooNew(StoreError):
    """The database was written by a newer statekeeper (a schema version this code does not know).

    Refused rather than guessed at: upgrade statekeeper, or point it at another database.
    """
