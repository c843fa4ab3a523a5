"""Schema versions of the PostgreSQL backend: which one a schema has, and bringing it up to date.

Each migration (``migrations/NNNN_*.sql``) runs in a transaction of its own that first takes
``pg_advisory_xact_lock`` on a key made from the schema's name, then reads the version again:
so any number of processes, on any number of machines, may migrate one schema at once, and
each version is applied exactly once (the others wait, then find it done).  A failed migration
rolls back whole.  A schema whose version this code does not know was written by a newer
statekeeper and is refused; a schema that holds another program's tables is refused unless
the URL says ``allow_foreign_tables=1``, as a SQLite file is.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import LiteralString

import psycopg
from psycopg import sql

from .._server_errors import PrivilegeMissing
from .._sql import Migration, load_migrations, load_queries, tables_created
from ..base import ForeignDatabase, SchemaTooNew, StoreError
from ._pool import Connection, _reason, connect, explain_failure, lost_connection
from ._settings import PostgresSettings, parse_postgres_url

__all__ = ["LATEST", "MIGRATIONS", "QUERIES", "STATEKEEPER_TABLES", "ForeignSchema",
           "apply_migrations", "migrate", "migration_lock_key", "schema_version"]

_PACKAGE = __package__ or "statekeeper.storage.postgres"
QUERIES = load_queries(_PACKAGE)
MIGRATIONS: list[Migration] = load_migrations(_PACKAGE)
LATEST = MIGRATIONS[-1].version
#: every table a statekeeper migration creates (a later migration's new tables included)
STATEKEEPER_TABLES = tables_created(MIGRATIONS)
_log = logging.getLogger("statekeeper.storage")


class ForeignSchema(ForeignDatabase):
    """The PostgreSQL schema holds tables statekeeper did not create (another program's).

    Refused so that migrating never adds statekeeper's tables beside another program's.  Use a
    schema of its own (``?schema=name``), or share this one on purpose with
    ``?allow_foreign_tables=1``.
    """

    def __init__(self, settings: PostgresSettings, tables: tuple[str, ...]) -> None:
        self.path = settings.display
        self.tables = tables
        StoreError.__init__(
            self, f"{settings.display}: schema {settings.schema!r} is not statekeeper's: it "
                  f"holds tables statekeeper did not create ({', '.join(tables)}), another "
                  f"program's most likely, and was left as it is. Give statekeeper a schema of "
                  f"its own (?schema=name in the URL; it is created), or, to share this one on "
                  f"purpose, add allow_foreign_tables=1 to the URL")


def _q(name: str) -> LiteralString:
    """A named query's text: loaded from a file this package ships, so not user input."""
    query: LiteralString = QUERIES[name]  # type: ignore[assignment,unused-ignore]
    return query


def migration_lock_key(schema: str) -> int:
    """The advisory lock key of migrations of ``schema`` (a signed 64-bit number)."""
    digest = hashlib.blake2b(f"statekeeper.migrate:{schema}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def schema_version(conn: Connection, schema: str) -> int:
    """The version of statekeeper's schema in ``schema`` (0: none yet)."""
    exists = conn.execute(_q("schema_version_exists"), {"schema": schema}).fetchone()
    if not exists or not exists[0]:
        return 0
    row = conn.execute(_q("schema_version")).fetchone()
    return int(row[0]) if row else 0


def _check(conn: Connection, settings: PostgresSettings, version: int, latest: int) -> None:
    """Refuse a schema from a newer statekeeper, or one that holds another program's tables."""
    if version > latest:
        raise SchemaTooNew(
            f"{settings.display}: schema {settings.schema!r} has statekeeper schema version "
            f"{version}, but this statekeeper knows versions up to {latest}; it was written "
            f"by a newer statekeeper. Upgrade statekeeper to use it (it is not modified)")
    names = [row[0] for row in conn.execute(_q("schema_relations"),
                                            {"schema": settings.schema})]
    # no version recorded: every relation is another program's, even one named like ours
    ours = STATEKEEPER_TABLES if version else frozenset()
    foreign = tuple(n for n in names if n not in ours)
    if foreign and not settings.allow_foreign_tables:
        raise ForeignSchema(settings, foreign)


def apply_migrations(conn: Connection, settings: PostgresSettings,
                     migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
    """Apply the missing ``migrations`` on ``conn``; return the versions this call applied.

    ``conn`` must not be in a transaction (each migration is one of its own) and its
    ``search_path`` must be the settings' schema (:func:`~._pool.connect` sets it).

    Raises:
        SchemaTooNew: the schema has a version beyond ``migrations``.
        ForeignSchema: the schema holds other tables and the URL does not allow them.
        PrivilegeMissing: the user may not create the schema or its tables.
        StoreUnavailable: the connection failed (see :func:`~._pool.explain_failure`).
        StoreError: a migration failed; its version was rolled back whole.

    """
    try:
        return _apply(conn, settings, migrations)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise PrivilegeMissing(
            f"{settings.display}: the database user may not set up schema "
            f"{settings.schema!r} ({_reason(exc)}); grant it (GRANT CREATE ON DATABASE ..., or "
            f"create the schema and make the user its owner), or name a schema it owns") from None
    except psycopg.Error as exc:
        if isinstance(exc, psycopg.OperationalError) and lost_connection(exc):
            raise explain_failure(exc, settings) from None
        raise StoreError(f"{settings.display}: migrating schema {settings.schema!r} failed "
                         f"({_reason(exc)}); the version in progress was rolled back") from None


def _apply(conn: Connection, settings: PostgresSettings,
           migrations: Sequence[Migration]) -> list[int]:
    key = migration_lock_key(settings.schema)
    applied: list[int] = []
    while True:
        with conn.transaction():
            conn.execute(_q("migration_lock"), {"key": key})
            if conn.execute(_q("schema_exists"), {"schema": settings.schema}).fetchone() is None:
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(settings.schema)))
            current = schema_version(conn, settings.schema)
            _check(conn, settings, current, len(migrations))
            if current >= len(migrations):
                return applied
            migration = migrations[current]
            _log.info("%s: applying statekeeper schema version %d (%s) to schema %r",
                      settings.display, migration.version, migration.name, settings.schema)
            statements: LiteralString = migration.sql  # type: ignore[assignment,unused-ignore]
            conn.execute(statements)
            conn.execute(_q("insert_schema_version"),
                         {"version": migration.version, "name": migration.name})
        applied.append(migration.version)


def migrate(url: str | PostgresSettings) -> list[int]:
    """Bring the schema ``url`` names up to date over one connection; the versions applied.

    Safe to call from many processes at once (see the module's doc).

    Raises:
        SchemaTooNew, ForeignSchema: see :func:`apply_migrations`.
        ServerUnreachable, DatabaseNotFound, CredentialsRefused: see :func:`~._pool.connect`.

    """
    settings = parse_postgres_url(url) if isinstance(url, str) else url
    conn = connect(settings)
    try:
        return apply_migrations(conn, settings)
    finally:
        conn.close()
