"""Using the pool's connections: reads, transactions retried when the server says "try again".

Why a layer over :class:`~._pool.PostgresPool`: the store's calls are each one transaction,
and two things about them are the same everywhere.  First, under concurrency PostgreSQL may
abort a transaction that did nothing wrong (a deadlock between two groups locking the same
instances in another order, a serialization failure): it is run again, a few times, with a
short random pause, and only then reported as :class:`~statekeeper.storage.StoreUnavailable`
(what the SQLite store says when its file stays locked).  Second, an SQL error on a sound
connection becomes a named :class:`~statekeeper.storage.StoreError` saying what to do (a
schema never migrated, a privilege missing), never a psycopg traceback.  A lost connection is
already a ``StoreUnavailable`` (the pool says so).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, LiteralString, TypeVar

import psycopg

from .._server_errors import PrivilegeMissing
from ..base import CommitUncertain, StoreError, StoreUnavailable
from ._pool import Connection, PostgresPool, _reason
from ._schema import QUERIES
from ._settings import PostgresSettings

__all__ = ["Database", "q"]

T = TypeVar("T")

#: SQLSTATEs that mean "this transaction lost a race; run it again"
_RETRY = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
_ATTEMPTS = 8


def q(name: str) -> LiteralString:
    """A named query of ``queries.sql`` (shipped with the package: never user input)."""
    query: LiteralString = QUERIES[name]  # type: ignore[assignment,unused-ignore]
    return query


class Database:
    """One schema's connections, lent for a read or a transaction, with errors named.

    Connections are in autocommit mode: a read of one statement is one round trip; a
    :meth:`write` (or a :meth:`read` with ``snapshot``) runs in a transaction of its own.
    """

    def __init__(self, settings: PostgresSettings) -> None:
        self.settings = settings
        self.pool = PostgresPool(settings, autocommit=True)
        #: transactions run again, by SQLSTATE (a deadlock is 40P01): see :meth:`_run`
        self._retries: Counter[str] = Counter()
        self._retries_lock = threading.Lock()  # bumped from every thread that writes

    @property
    def retries(self) -> dict[str, int]:
        """A copy of the transactions run again so far, by SQLSTATE (see :meth:`_run`)."""
        with self._retries_lock:
            return dict(self._retries)

    def close(self) -> None:
        """Close every connection (idempotent); later calls raise :class:`StoreError`."""
        self.pool.close()

    def read(self, work: Callable[[Connection], T], *, snapshot: bool = False) -> T:
        """``work(conn)``; with ``snapshot``, its statements see one consistent snapshot."""
        if not snapshot:
            return self._run(work, transaction=False)

        def in_snapshot(conn: Connection) -> T:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            return work(conn)

        return self._run(in_snapshot, transaction=True)

    def write(self, work: Callable[[Connection], T]) -> T:
        """``work(conn)`` in one transaction: committed when it returns, else rolled back.

        An exception ``work`` raises rolls the transaction back and propagates as it is.
        """
        return self._run(work, transaction=True)

    def rows(self, name: str, params: Any = ()) -> list[Any]:
        """The rows of the named query."""
        return self.read(lambda conn: conn.execute(q(name), params).fetchall())

    def change(self, name: str, params: Any) -> int:
        """Run the named statement alone; the number of rows it changed."""
        return self.read(lambda conn: conn.execute(q(name), params).rowcount)

    def _run(self, work: Callable[[Connection], T], *, transaction: bool) -> T:
        for attempt in range(1, _ATTEMPTS + 1):
            committing = False
            try:
                with self.pool.connection() as conn:
                    if not transaction:
                        return work(conn)
                    with conn.transaction() as txn:
                        result = work(conn)
                        committing = True  # the block's end sends COMMIT
                    committing = False
                    if txn.status is not txn.Status.COMMITTED:
                        raise self._never_committed()
                    return result
            except StoreUnavailable:
                if not committing:
                    raise
                raise CommitUncertain(
                    f"{self.settings.display}: the connection was lost while the server "
                    f"committed; the transaction may have committed or not. Find out "
                    f"before writing it again: resend with the same idempotency key (a repeat "
                    f"is answered as a duplicate), or read the instance's history") from None
            except psycopg.Error as exc:
                if exc.sqlstate not in _RETRY:
                    raise self._explain(exc) from None
                with self._retries_lock:
                    self._retries[exc.sqlstate] += 1
                if attempt == _ATTEMPTS:
                    raise StoreUnavailable(
                        f"{self.settings.display}: the transaction lost a race with other "
                        f"writers {_ATTEMPTS} times in a row ({_reason(exc)}); nothing of it "
                        f"was committed. Retry, or run fewer writers at once") from None
                time.sleep(random.uniform(0, 0.002 * 2 ** attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _never_committed(self) -> StoreUnavailable:
        """The transaction block ended without an error, but COMMIT was never sent.

        psycopg ends a transaction block on a connection already lost without a word: no
        COMMIT, no error.  The connection can be lost while ``work`` runs without ``work``
        hearing of it: a savepoint rolled back for a conflict (``_commit.py``) whose
        ``ROLLBACK TO`` fails is only logged by psycopg, and the conflict goes on as handled.
        The server rolls back a transaction whose connection is gone, so nothing was written
        (issue 16: an engine answered "applied" for steps that had not landed).
        """
        return StoreUnavailable(
            f"{self.settings.display}: the connection was lost before the transaction "
            f"could commit; nothing of it was committed. Retry")

    def _explain(self, exc: psycopg.Error) -> StoreError:
        where = f"{self.settings.display} (schema {self.settings.schema!r})"
        if isinstance(exc, psycopg.errors.UndefinedTable):
            return StoreError(f"{where} has no statekeeper tables ({_reason(exc)}); call the "
                              f"store's migrate() first (a Client does)")
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            return PrivilegeMissing(f"{where}: the database user may not do this "
                                    f"({_reason(exc)}); grant it the privilege")
        if isinstance(exc, psycopg.errors.QueryCanceled):
            return StoreUnavailable(f"{where}: the statement was cancelled ({_reason(exc)}); "
                                    f"nothing of the transaction was committed. Retry")
        return StoreError(f"{where}: the database refused a statement ({_reason(exc)}); "
                          f"nothing of the transaction was committed")
