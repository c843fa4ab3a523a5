"""Backends for the storage contract: one ``store`` fixture, parametrized over every backend.

Adding a backend (PostgreSQL is next): write a ``postgres_store`` fixture (a database per test
module, created from a session template), add ``"postgres"`` to ``BACKENDS``, and teach
``second_handle`` and ``corrupt`` how to reach it.  The contract itself does not change.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from statekeeper.storage import MemoryStore, SQLiteStore, Store
from statekeeper.storage.tables import INSTANCES

BACKENDS = ["memory", "sqlite"]  # later: "postgres"


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


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest) -> Store:
    """Each contract test runs once per backend."""
    backend: Store = request.getfixturevalue(f"{request.param}_store")
    return backend


@pytest.fixture
def second_handle(store: Store) -> Iterator[Store]:
    """Another handle on the same data, as a second worker would have.

    SQLite: a second ``SQLiteStore`` on the same file (its own connections).  Memory: the same
    object, since a process has only one.
    """
    if isinstance(store, SQLiteStore):
        other = SQLiteStore(store.path)
        yield other
        other.close()
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
        else:  # pragma: no cover - a new backend must say how to corrupt its rows
            raise NotImplementedError(type(store).__name__)
    return write
