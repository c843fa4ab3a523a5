"""The embedded SQLite store: one file, WAL mode, ``synchronous=FULL``, group commit.

SQL lives beside this module: ``migrations/NNNN_*.sql`` (the schema, one version per file) and
``queries.sql`` (named queries).
"""

from ._file import parse_sqlite_url
from ._schema import LATEST as SCHEMA_VERSION
from ._store import SQLiteStore

__all__ = ["SCHEMA_VERSION", "SQLiteStore", "parse_sqlite_url"]
