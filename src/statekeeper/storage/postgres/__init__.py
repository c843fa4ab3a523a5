"""PostgreSQL: connection settings, a connection pool, and the schema with its migrations.

What is here now is the foundation of the PostgreSQL store, not the store: a
``postgresql://`` URL opened as a store raises
:class:`~statekeeper.storage.StoreNotImplemented`.  Usable today: :func:`parse_postgres_url`
(the URL and its ``schema=`` and pool options), :class:`PostgresPool` (a ``psycopg_pool`` pool
whose failures are named errors) and :func:`migrate` (the schema, applied under an advisory
lock, one transaction per version).

Needs the ``postgres`` extra (``pip install 'statekeeper[postgres]'``): without it, importing
this package raises :class:`~statekeeper.storage.BackendNotInstalled`, which says so.
SQL lives beside this module: ``migrations/NNNN_*.sql`` and ``queries.sql``.
"""

from . import _driver  # noqa: F401  (first: a missing driver is a clear error)
from ._pool import PostgresPool, connect
from ._schema import LATEST as SCHEMA_VERSION
from ._schema import ForeignSchema, migrate, migration_lock_key, schema_version
from ._settings import DEFAULT_SCHEMA, PostgresSettings, parse_postgres_url

__all__ = [
    "DEFAULT_SCHEMA",
    "SCHEMA_VERSION",
    "ForeignSchema",
    "PostgresPool",
    "PostgresSettings",
    "connect",
    "migrate",
    "migration_lock_key",
    "parse_postgres_url",
    "schema_version",
]
