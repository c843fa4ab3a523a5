"""Backends for the storage contract: one ``store`` fixture, parametrized over every backend.

Adding a backend: write a ``<name>_store`` fixture, add it to ``BACKENDS``, and teach
``second_handle`` and ``corrupt`` how to reach it.  The contract itself does not change.
PostgreSQL's store works in a schema of its own per test (``pg_url``, ``tests/conftest.py``);
its tests carry the ``postgres`` mark and are skipped when the server is down (failed in CI).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from statekeeper.storage import MemoryStore, SQLiteStore, Store
from statekeeper.storage.tables import INSTANCES

BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture
def memory_store() -> Iterator[MemoryStore]:
    store = MemoryStore()
    store.migrate()
    yield store
    store.close()


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    return tmp_path / "statekeeper.db"


@pytest.fixture
def sqlite_store(sqlite_path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(sqlite_path)
    store.migrate()
    yield store
    store.close()


@pytest.fixture
def postgres_store(pg_url: str) -> Iterator[Store]:
    from statekeeper.storage.postgres import PostgresStore

    store = PostgresStore(pg_url)
    store.migrate()
    yield store
    store.close()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Store:
    """Each contract test runs once per backend."""
    backend: Store = request.getfixturevalue(f"{request.param}_store")
    return backend


@pytest.fixture
def second_handle(store: Store) -> Iterator[Store]:
    """Another handle on the same data, as a second worker would have.

    SQLite: a second ``SQLiteStore`` on the same file (its own connections).  PostgreSQL: a
    second ``PostgresStore`` on the same schema (its own pool).  Memory: the same object,
    since a process has only one.
    """
    if isinstance(store, SQLiteStore):
        other = SQLiteStore(store.path)
        yield other
        other.close()
    elif type(store).__name__ == "PostgresStore":
        from statekeeper.storage.postgres import PostgresStore

        assert isinstance(store, PostgresStore)
        another = PostgresStore(store.settings)
        yield another
        another.close()
    else:
        yield store


Corrupt = Callable[[str, str, Any], None]


@pytest.fixture
def corrupt(store: Store) -> Corrupt:
    """Overwrite one column of an instance row behind the store's back."""
    def write(instance_id: str, column: str, value: Any) -> None:
        if isinstance(store, SQLiteStore):
            raw = sqlite3.connect(store.path)
            raw.execute("PRAGMA ignore_check_constraints = ON")  # garbage, as a bad disk writes
            try:
                with raw:
                    raw.execute(f"UPDATE instances SET {column} = ? WHERE id = ?",
                                (value, instance_id))
            finally:
                raw.close()
        elif isinstance(store, MemoryStore):
            row = list(store._instances[instance_id])
            row[INSTANCES.at(column)] = value
            store._instances[instance_id] = tuple(row)
        elif type(store).__name__ == "PostgresStore":
            _corrupt_postgres(store, instance_id, column, value)
        else:  # pragma: no cover - a new backend must say how to corrupt its rows
            raise NotImplementedError(type(store).__name__)
    return write


_JSONB = frozenset({"snapshot", "configuration", "labels"})


def _corrupt_postgres(store: Any, instance_id: str, column: str, value: Any) -> None:
    """Garbage by plain SQL, as far as PostgreSQL's column types let any write hold it.

    JSON that does not parse cannot be jsonb: it is written as a JSON string holding the text
    (still no object, list or map of strings: the decoders refuse it).  A CHECK is dropped
    first, as a bad migration or a hand edit would.  Text in a bigint or double precision
    column cannot be written at all: such a test is skipped, saying so.
    """
    import psycopg

    from statekeeper.storage.postgres import connect

    conn = connect(store.settings, autocommit=True)
    try:
        if column == "status":
            conn.execute("ALTER TABLE instances DROP CONSTRAINT IF EXISTS instances_status_check")
        if column in _JSONB:
            try:
                value = conn.execute("SELECT %s::jsonb::text", (value,)).fetchone()[0]
            except psycopg.errors.InvalidTextRepresentation:
                value = conn.execute("SELECT to_jsonb(%s::text)::text", (value,)).fetchone()[0]
            sql = f"UPDATE instances SET {column} = %s::jsonb WHERE id = %s"
        else:
            sql = f"UPDATE instances SET {column} = %s WHERE id = %s"
        try:
            conn.execute(sql, (value, instance_id))  # type: ignore[arg-type]
        except psycopg.errors.InvalidTextRepresentation as exc:
            pytest.skip(f"PostgreSQL's column type refuses the garbage, so this corruption "
                        f"cannot happen there: {str(exc).splitlines()[0]}")
    finally:
        conn.close()
