"""Whether a file may be used as a statekeeper database, decided before it is opened for writing.

Why a check of its own: opening a store creates the schema's tables and switches the file to
WAL mode.  Done to another program's database, that silently changes a file statekeeper does
not own (and WAL mode changes how that program must open it).  So a file is inspected first,
through a read-only connection that changes nothing: a directory, a pipe or a device is
refused (a pipe would block the open), a file that is not a SQLite database is refused, and a
database holding tables no statekeeper migration creates is refused unless the caller says,
explicitly, that sharing it is intended.  The client and the command line use this one check.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from dataclasses import dataclass
from urllib.parse import parse_qs, quote

from .._sql import tables_created
from ..base import ForeignDatabase, NotADatabaseFile
from ._schema import MIGRATIONS, check_version

__all__ = ["STATEKEEPER_TABLES", "FileReport", "check_file", "inspect_file", "parse_sqlite_url"]

#: every table a statekeeper migration creates (a later migration's new tables included)
STATEKEEPER_TABLES = tables_created(MIGRATIONS)

_OPTIONS = {"allow_foreign_tables"}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


@dataclass(frozen=True, slots=True)
class FileReport:
    """What a database file holds: its statekeeper schema version, and tables of others."""

    exists: bool
    version: int
    foreign_tables: tuple[str, ...]


def parse_sqlite_url(text: str) -> tuple[str, dict[str, bool]]:
    """The path and the options of ``sqlite:///path?allow_foreign_tables=1`` (or a plain path).

    Raises:
        ValueError: an unknown parameter or a value that is not a yes or a no.

    """
    if not text.startswith("sqlite://"):
        return text, {}
    path, _, query = text.removeprefix("sqlite:///").removeprefix("sqlite://").partition("?")
    options: dict[str, bool] = {}
    for name, values in parse_qs(query, keep_blank_values=True).items():
        if name not in _OPTIONS:
            raise ValueError(f"store URL {text!r}: unknown parameter {name!r} (the one known "
                             f"is {', '.join(sorted(_OPTIONS))})")
        value = values[-1].lower()
        if value not in _TRUE | _FALSE:
            raise ValueError(f"store URL {text!r}: {name}={values[-1]!r}; write {name}=1 "
                             f"or {name}=0")
        options[name] = value in _TRUE
    return path, options


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words (``None``: a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def inspect_file(path: str) -> FileReport:
    """Read, without changing anything, what ``path`` holds.

    Raises:
        NotADatabaseFile: ``path`` is a directory, pipe, device or socket, or a file that is
            not a SQLite database.

    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return FileReport(False, 0, ())
    except OSError as exc:
        raise NotADatabaseFile(f"SQLite database {path!r} cannot be read: {exc}") from None
    kind = _kind(mode)
    if kind is not None:
        raise NotADatabaseFile(f"{path!r} is not a statekeeper database: it is {kind}; "
                               "name a regular file (it is created if missing)")
    if os.path.getsize(path) == 0:
        return FileReport(True, 0, ())
    uri = f"file:{quote(os.path.abspath(path))}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True)
        try:
            names = [row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")]
            version = 0
            if "schema_version" in names:
                found = conn.execute("SELECT max(version) FROM schema_version").fetchone()[0]
                version = found if type(found) is int else 0
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise NotADatabaseFile(f"{path!r} is not a statekeeper database: it is not a SQLite "
                               f"database ({exc}); it was left as it is") from None
    # With no statekeeper schema recorded, every table is another program's, even one named
    # like ours ("instances", "timers"): a migration creates its tables and records its
    # version in one transaction, so statekeeper never leaves tables without a version.
    ours = STATEKEEPER_TABLES if version else frozenset()
    return FileReport(True, version, tuple(n for n in names if n not in ours))


def check_file(path: str, *, allow_foreign_tables: bool = False) -> FileReport:
    """Refuse ``path`` unless statekeeper may use it; what it holds otherwise.

    Raises:
        NotADatabaseFile: see :func:`inspect_file`.
        SchemaTooNew: written by a newer statekeeper.
        ForeignDatabase: it holds tables statekeeper did not create, and
            ``allow_foreign_tables`` was not given.

    """
    report = inspect_file(path)
    check_version(report.version, path)
    if report.foreign_tables and not allow_foreign_tables:
        raise ForeignDatabase(path, report.foreign_tables)
    return report
