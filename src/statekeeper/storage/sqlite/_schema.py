"""Schema versions of the SQLite store: which one a file has, and bringing it up to date.

The ``schema_version`` table lists every migration applied.  :func:`migrate_txn` applies the
missing files of ``migrations/`` in order, inside the caller's ``BEGIN IMMEDIATE`` transaction,
so two processes migrating the same file at once cannot both apply a version, and a failed
migration leaves the file as it was.  A file with a version this code does not know was
written by a newer statekeeper and is refused: guessing at its meaning could lose data.
"""

from __future__ import annotations

import logging
import sqlite3
import time

from .._sql import Migration, load_migrations, load_queries
from ..base import SchemaTooNew

__all__ = ["LATEST", "MIGRATIONS", "QUERIES", "check_version", "migrate_txn", "schema_version",
           "split_statements"]

QUERIES = load_queries(__package__ or "statekeeper.storage.sqlite")
MIGRATIONS: list[Migration] = load_migrations(__package__ or "statekeeper.storage.sqlite")
LATEST = MIGRATIONS[-1].version
_log = logging.getLogger("statekeeper.storage")


def split_statements(sql: str) -> list[str]:
    """Split a migration script into statements (SQLite's own completeness test decides).

    ``executescript`` cannot be used: it commits the open transaction first.
    """
    statements, buffer = [], ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    rest = "\n".join(x for x in buffer.splitlines() if not x.strip().startswith("--")).strip()
    if rest:
        raise ValueError(f"incomplete SQL statement at the end of a migration: {rest[:80]!r}")
    return statements


def schema_version(cur: sqlite3.Cursor) -> int:
    """The version of the schema in the file (0: no statekeeper schema yet)."""
    if cur.execute(QUERIES["schema_version_exists"]).fetchone() is None:
        return 0
    return int(cur.execute(QUERIES["schema_version"]).fetchone()[0])


def check_version(version: int, path: str) -> None:
    """Refuse a schema newer than this code knows."""
    if version > LATEST:
        raise SchemaTooNew(
            f"SQLite database {path!r} has schema version {version}, but this statekeeper "
            f"knows versions up to {LATEST}; it was written by a newer statekeeper. Upgrade "
            f"statekeeper to use it (it is not modified)")


def migrate_txn(cur: sqlite3.Cursor, path: str) -> list[int]:
    """Apply the missing migrations; return the versions applied.  Needs ``BEGIN IMMEDIATE``."""
    current = schema_version(cur)
    check_version(current, path)
    applied = []
    for migration in MIGRATIONS[current:]:
        started = time.monotonic()
        if current:  # an existing file: some migrations copy whole tables, say why we wait
            _log.info("SQLite database %r: upgrading the schema to version %d (%s)", path,
                      migration.version, migration.name)
        for statement in split_statements(migration.sql):
            cur.execute(statement)
        cur.execute(QUERIES["insert_schema_version"], (migration.version, migration.name))
        applied.append(migration.version)
        if current:
            _log.info("SQLite database %r: schema version %d applied in %.1fs", path,
                      migration.version, time.monotonic() - started)
    return applied
