"""PostgreSQL: the store, its connection settings and pool, and the schema with its migrations.

:class:`PostgresStore` is the ``Store`` protocol on PostgreSQL (``open_store("postgresql://
...")`` opens one); underneath, :func:`parse_postgres_url` (the URL and its ``schema=`` and
pool options), :class:`PostgresPool` (a ``psycopg_pool`` pool whose failures are named errors)
and :func:`migrate` (the schema, applied under an advisory lock, one transaction per version).

Needs the ``postgres`` extra (``pip install 'statekeeper[postgres]'``): without it, importing
this package raises :class:`~statekeeper.storage.BackendNotInstalled`, which says so.
SQL lives beside this module: ``migrations/NNNN_*.sql`` and ``queries.sql``.
"""

from . import _driver  # noqa: F401  (first: a missing driver is a clear error)
from ._pool import PostgresPool, connect
from ._schema import LATEST as SCHEMA_VERSION
from ._schema import ForeignSchema, migrate, migration_lock_key, schema_version
from ._settings import DEFAULT_SCHEMA, PostgresSettings, parse_postgres_url
from ._signals import PostgresSignals, leader_lock_key, wake_channel
from ._store import PostgresStore

__all__ = [
    "DEFAULT_SCHEMA",
    "SCHEMA_VERSION",
    "ForeignSchema",
    "PostgresPool",
    "PostgresSettings",
    "PostgresSignals",
    "PostgresStore",
    "connect",
    "leader_lock_key",
    "migrate",
    "migration_lock_key",
    "parse_postgres_url",
    "schema_version",
    "wake_channel",
]
