"""Load SQL from the ``.sql`` files that ship with each SQL backend.

SQL lives in files, not in Python strings (procrastinate's layout): ``queries.sql`` holds named
blocks, each starting with a ``-- name: <name>`` line, and ``migrations/NNNN_<what>.sql`` hold
the schema, one version per file.  Both are read once at import, so a query is a dictionary
lookup and its text is the same object each time (which keeps the driver's statement cache hot).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

__all__ = ["Migration", "load_migrations", "load_queries", "parse_queries", "tables_created"]

_NAME = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$")
_MIGRATION = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema version: its number, its file's name and its SQL."""

    version: int
    name: str
    sql: str


def parse_queries(text: str) -> dict[str, str]:
    """Split ``text`` into named queries.

    A block runs from its ``-- name:`` line to the next one.  Whole-line comments are dropped
    and a trailing ``;`` is removed, so each value is one statement a driver can execute.

    Raises:
        ValueError: SQL before the first name, a name used twice, or an empty block.

    """
    queries: dict[str, list[str]] = {}
    current: list[str] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        match = _NAME.match(line.strip())
        if match:
            name = match.group(1)
            if name in queries:
                raise ValueError(f"line {number}: query {name!r} is defined twice")
            current = queries[name] = []
        elif line.strip().startswith("--") or not line.strip():
            continue
        elif current is None:
            raise ValueError(f"line {number}: SQL before the first '-- name:' line")
        else:
            current.append(line.rstrip())
    result = {name: "\n".join(lines).rstrip().rstrip(";").rstrip()
              for name, lines in queries.items()}
    empty = [name for name, sql in result.items() if not sql]
    if empty:
        raise ValueError(f"queries without SQL: {empty}")
    return result


def load_queries(package: str, resource: str = "queries.sql") -> dict[str, str]:
    """The named queries of ``resource`` in ``package``."""
    return parse_queries(resources.files(package).joinpath(resource).read_text("utf-8"))


def load_migrations(package: str, folder: str = "migrations") -> list[Migration]:
    """The migrations in ``package``/``folder``, in version order.

    Raises:
        ValueError: a version is missing or repeated (versions must run 1, 2, 3, ...), so a
            misnamed file cannot silently skip a schema change.

    """
    found = []
    for entry in resources.files(package).joinpath(folder).iterdir():
        match = _MIGRATION.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2),
                                   entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise ValueError(f"migrations of {package} must be numbered 1..n, found {versions}")
    return found


def tables_created(migrations: Sequence[Migration]) -> frozenset[str]:
    """Every table the ``migrations`` create (a later one's new tables included).

    What a backend counts as its own when it decides whether a database or schema also holds
    another program's tables.
    """
    return frozenset(name for m in migrations for name in re.findall(
        r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", m.sql, re.IGNORECASE))
