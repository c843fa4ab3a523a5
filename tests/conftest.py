"""Fixtures shared by every test.

PostgreSQL: the server is ``STATEKEEPER_TEST_POSTGRES`` (default
``postgresql://127.0.0.1:5432/test``, as the project's machines and CI run it).  Each test that
asks for ``pg_schema`` (or ``pg_url``) gets a new, uniquely named schema in that database,
dropped with CASCADE when it ends, so parallel runs (several engineers, CI) never collide and
nothing is left behind.  When the server cannot be reached those tests are skipped with the
reason, except under CI (``CI`` set), where they fail: CI must prove the PostgreSQL backend.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

#: Threads a test may leave running: the one shared timer thread of SystemClock.
ALLOWED_THREADS = frozenset({"statekeeper-timers"})


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves a thread running (one that ends within a second is fine)."""
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate()
              if t not in before and t.name not in ALLOWED_THREADS and t.is_alive()]
    for thread in leaked:
        thread.join(timeout=1.0)
    leaked = [t for t in leaked if t.is_alive()]
    if leaked:
        pytest.fail(f"test leaked threads: {[t.name for t in leaked]}", pytrace=False)


# -- PostgreSQL: a schema of its own for each test -------------------------------------------

SERVER = os.environ.get("STATEKEEPER_TEST_POSTGRES", "postgresql://127.0.0.1:5432/test")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the PostgreSQL tests", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The server's URL, once it is known to answer (else skip, or fail under CI)."""
    try:
        import psycopg
    except ImportError:
        _unavailable("psycopg is not installed: pip install -e '.[postgres]'")
        raise
    try:
        with psycopg.connect(SERVER, connect_timeout=5, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        _unavailable(f"PostgreSQL at {SERVER} is unreachable: {str(exc).strip().splitlines()[0]}")
    return SERVER


def _admin(server: str, statement: str, *, patience: float = 0.0) -> None:
    """Run one statement; with ``patience``, retry while the server restarts (a fault test)."""
    import psycopg

    deadline = time.monotonic() + patience
    while True:
        try:
            with psycopg.connect(server, connect_timeout=5, autocommit=True) as conn:
                conn.execute(statement)  # type: ignore[arg-type]
            return
        except psycopg.OperationalError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)  # the server is restarting: no schema may be left behind


@pytest.fixture
def pg_schema(postgres_server: str) -> Iterator[str]:
    """A new empty schema, dropped (CASCADE) after the test."""
    name = f"sk_test_{os.getpid()}_{uuid.uuid4().hex[:12]}"
    _admin(postgres_server, f"CREATE SCHEMA {name}")
    try:
        yield name
    finally:
        _admin(postgres_server, f"DROP SCHEMA IF EXISTS {name} CASCADE", patience=120.0)


@pytest.fixture
def pg_url(postgres_server: str, pg_schema: str) -> str:
    """A ``postgresql://`` URL whose ``schema=`` is this test's own (it has a query: add ``&...``)."""
    parts = urlsplit(postgres_server)
    query = "&".join(filter(None, [parts.query, f"schema={pg_schema}"]))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


@pytest.fixture
def raw_pg(postgres_server: str, pg_schema: str) -> Iterator[Any]:
    """A plain autocommit connection whose search_path is the test's schema (to look behind)."""
    import psycopg

    conn = psycopg.connect(postgres_server, autocommit=True,
                           options=f"-c search_path={pg_schema}")
    try:
        yield conn
    finally:
        conn.close()
