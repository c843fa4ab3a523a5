"""Connections to PostgreSQL: one at a time, or a pool; each failure a named error.

Why a wrapper around ``psycopg_pool.ConnectionPool``: the pool alone reports a server that is
down, a database that does not exist and refused credentials all the same way (it logs and
retries until its timeout, then raises ``PoolTimeout``).  So opening a pool first makes one
connection directly and turns libpq's error into
:class:`~statekeeper.storage.ServerUnreachable`, :class:`~statekeeper.storage.DatabaseNotFound`
or :class:`~statekeeper.storage.CredentialsRefused`; and :meth:`PostgresPool.connection` turns a
wait that outlasts ``pool_timeout`` into :class:`~statekeeper.storage.PoolExhausted`.  No
psycopg exception about the connection leaves this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.adapt import Buffer, Loader
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from .._json import loads
from .._server_errors import (
    CredentialsRefused,
    DatabaseNotFound,
    PoolExhausted,
    ServerUnreachable,
)
from ..base import StoreError, StoreUnavailable
from ..urls import InvalidStoreURL
from ._settings import PostgresSettings, parse_postgres_url

__all__ = ["Connection", "JsonbLoader", "PostgresPool", "connect", "explain_failure",
           "lost_connection"]

Connection = psycopg.Connection[tuple[Any, ...]]

_CREDENTIALS = ("password authentication failed", "no password supplied", "no pg_hba.conf entry",
                "authentication failed", "role \"", "peer authentication", "permission denied "
                "for database", "must have connect")


def _reason(exc: BaseException) -> str:
    """The words of libpq, without the "connection to server at ... failed:" preamble."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    first = lines[0] if lines else type(exc).__name__
    reason = first.rpartition(" failed: ")[2] if " failed: " in first else first
    return reason.removeprefix("FATAL:").strip()


def lost_connection(exc: psycopg.Error) -> bool:
    """Whether ``exc`` means the connection is gone (not a statement that failed on it).

    libpq's own failures have no SQLSTATE; the server says 08xxx (connection exception) or
    57P01-57P03 (shut down, crashed, cannot connect now).  A cancelled statement (57014), a
    serialization failure or a deadlock (40xxx) are psycopg ``OperationalError`` too, but the
    connection is sound and the caller (the store) decides what they mean.
    """
    state = exc.sqlstate
    return state is None or state.startswith("08") or state in ("57P01", "57P02", "57P03")


def explain_failure(exc: psycopg.Error, settings: PostgresSettings) -> StoreError:
    """The named error for a psycopg error about reaching the database (not about SQL)."""
    where = settings.display
    reason = _reason(exc)
    text = str(exc)
    if "database \"" in text and "does not exist" in text:
        return DatabaseNotFound(
            f"{where}: the server is up but has no such database ({reason}); create it "
            f"(createdb NAME, or CREATE DATABASE NAME) or fix the database name in the URL")
    # before the credentials: "too many connections for role ..." names a role too
    if "too many connections" in text or "too many clients" in text or \
            "connection slots" in text:
        return StoreUnavailable(
            f"{where}: the server has no connection slot free ({reason}); lower pool_max= of "
            f"the processes that share it, or raise the server's max_connections")
    if any(marker in text for marker in _CREDENTIALS):
        return CredentialsRefused(
            f"{where}: the server refused the credentials ({reason}); check the user and "
            f"password in the URL (or PGPASSWORD, ~/.pgpass) and the server's pg_hba.conf")
    if ("invalid " in text and ("port" in text or "value" in text or "URI" in text)) or \
            "unrecognized configuration parameter" in text:
        return InvalidStoreURL(f"{where}: the URL says something the connection cannot take "
                               f"({reason}); fix it")
    if isinstance(exc, psycopg.errors.AdminShutdown) or "terminating connection" in text:
        return StoreUnavailable(
            f"{where}: the server ended the connection ({reason}); a transaction lost during "
            f"its COMMIT may have committed. Retry once the server is back, with the same "
            f"idempotency key, so a send that landed is not applied twice")
    if "starting up" in text or "shutting down" in text or "in recovery" in text:
        return StoreUnavailable(f"{where}: the server is not accepting work now ({reason}); "
                                f"retry when it is up")
    if "server closed the connection" in text or "consuming input failed" in text or \
            "connection is lost" in text or "the connection is closed" in text:
        return StoreUnavailable(
            f"{where}: the connection to the server was lost ({reason}); a transaction lost "
            f"during its COMMIT may have committed. Retry with the same idempotency key, so "
            f"a send that landed is not applied twice")
    if "FATAL:" in text or "SSL" in text:  # the server answered, and refused
        return StoreUnavailable(
            f"{where}: the server refused the connection ({reason}); fix the URL's settings "
            f"(sslmode=, options=...) or the server's configuration")
    return ServerUnreachable(
        f"{where}: no PostgreSQL server answered ({reason}); check that it is running and "
        f"that the host and port in the URL are right (gave up after "
        f"connect_timeout={settings.connect_timeout}s)")


def connect(settings: PostgresSettings | str, *, autocommit: bool = False,
            long_lived: bool = False) -> Connection:
    """One connection, outside any pool, with ``search_path`` set to the settings' schema.

    ``long_lived``: a connection kept for the process's life (listening, leading), with
    shorter TCP keepalives on both sides (see :mod:`._settings`).

    Raises:
        ServerUnreachable, DatabaseNotFound, CredentialsRefused: see :func:`explain_failure`.

    """
    if isinstance(settings, str):
        settings = parse_postgres_url(settings)
    try:
        return psycopg.connect(settings.conninfo, autocommit=autocommit,
                               **settings.connect_kwargs(long_lived=long_lived))
    except psycopg.OperationalError as exc:
        raise explain_failure(exc, settings) from None


class JsonbLoader(Loader):
    """``jsonb`` read with the JSON decoder every store's rows are read with.

    The store reads ``jsonb`` columns uncast, parsed by the driver (see ``_rows.py``).
    psycopg's own loader costs about twice what reading the same value as text and decoding
    it does (its ``json.loads`` sniffs the encoding of bytes); this one, registered on the
    pool's connections only (never psycopg's global adapters, which the application may
    use), costs about the same as text, and refuses ``NaN`` as the other stores do.
    """

    def load(self, data: Buffer) -> Any:
        return loads(str(data, "utf-8"))


def _configure(conn: Connection) -> None:
    conn.adapters.register_loader("jsonb", JsonbLoader)


class PostgresPool:
    """A pool of connections to one schema; opened only once one connection has succeeded.

    Each connection has ``search_path`` set to the schema, and reads ``jsonb`` with
    :class:`JsonbLoader`.  :meth:`connection` lends one for
    a ``with`` block: committed at its end, rolled back if the block raises.  With
    ``autocommit`` each statement commits alone unless the block opens a transaction
    (``conn.transaction()``): a read of one statement then costs one round trip, not two.
    Close the pool when done (its threads stop then).
    """

    def __init__(self, settings: PostgresSettings | str, *, autocommit: bool = False) -> None:
        if isinstance(settings, str):
            settings = parse_postgres_url(settings)
        self.settings = settings
        connect(settings).close()  # a down server or a wrong URL: say which, now
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            settings.conninfo, kwargs={**settings.connect_kwargs(), "autocommit": autocommit},
            min_size=settings.pool_min,
            max_size=settings.pool_max, timeout=settings.pool_timeout, open=False,
            name=f"statekeeper-{settings.schema}", configure=_configure)
        try:
            self._pool.open(wait=True, timeout=max(settings.pool_timeout,
                                                   float(settings.connect_timeout)))
        except PoolTimeout:
            self._pool.close()
            raise StoreUnavailable(
                f"{settings.display}: the pool could not open pool_min={settings.pool_min} "
                f"connections in time, although one connection succeeded; the server may be "
                f"short of connection slots (max_connections): lower pool_min=") from None

    @contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[Connection]:
        """A connection for the block (waits up to ``timeout``, default ``pool_timeout``).

        Raises:
            PoolExhausted: no connection came free in time.
            StoreUnavailable: the connection was lost, or could not be made (a subclass:
                see :func:`connect`).  Other psycopg errors raised by the block's SQL on a
                sound connection pass through unchanged: the caller knows what they mean.
            StoreError: the pool is closed.

        """
        wait = self.settings.pool_timeout if timeout is None else timeout
        try:
            with self._pool.connection(timeout=wait) as conn:
                try:
                    yield conn
                except psycopg.OperationalError as exc:
                    if not (conn.broken or lost_connection(exc)):
                        raise  # an SQL error on a sound connection: the caller's to handle
                    raise explain_failure(exc, self.settings) from None
        except PoolTimeout:
            raise self._timed_out(wait) from None
        except PoolClosed:
            raise StoreError(f"{self.settings.display}: the connection pool is closed") from None
        except psycopg.OperationalError as exc:  # getting a connection, or committing
            if not lost_connection(exc):
                raise
            raise explain_failure(exc, self.settings) from None

    def _timed_out(self, wait: float) -> StoreError:
        """Why no connection came in ``wait`` seconds: all busy, or none can be made.

        The pool says the same (``PoolTimeout``) when its connections were lost and it cannot
        make new ones (the server went down, or became unreachable, after the pool opened):
        advice to raise ``pool_max`` would send the reader the wrong way.  One connection
        made directly tells which, and its failure is named as at open.
        """
        try:
            connect(self.settings).close()
        except StoreError as exc:
            return exc
        return PoolExhausted(
            f"{self.settings.display}: all {self.settings.pool_max} connections of the "
            f"pool stayed in use for {wait:g}s; raise pool_max= in the URL (within the "
            f"server's max_connections), or run fewer requests at once")

    def stats(self) -> dict[str, int]:
        """The pool's counters (connections open, waiting requests...), for monitoring."""
        return dict(self._pool.get_stats())

    def close(self, timeout: float = 5.0) -> None:
        """Close every connection and stop the pool's threads (idempotent)."""
        self._pool.close(timeout=timeout)

    def __enter__(self) -> PostgresPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
