"""Reaching PostgreSQL: each way it fails is a named error that says what to do, never psycopg's."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

psycopg = pytest.importorskip("psycopg", reason="PostgreSQL tests need the postgres extra")

from statekeeper.storage import (  # noqa: E402
    CredentialsRefused,
    DatabaseNotFound,
    InvalidStoreURL,
    PoolExhausted,
    ServerUnreachable,
    StoreUnavailable,
)
from statekeeper.storage.postgres import PostgresPool, connect, migrate  # noqa: E402

pytestmark = pytest.mark.postgres


def _opened(url: str, how: str) -> None:
    if how == "connect":
        connect(url).close()
    elif how == "pool":
        PostgresPool(url).close()
    else:
        migrate(url)


HOW = ["connect", "pool", "migrate"]


@pytest.mark.parametrize("how", HOW)
def test_a_port_nobody_listens_on(how: str) -> None:
    with pytest.raises(ServerUnreachable, match=r"127\.0\.0\.1:1/test: no PostgreSQL server "
                       r"answered \(Connection refused.*check that it is running") as info:
        _opened("postgresql://u:hunter2@127.0.0.1:1/test?connect_timeout=2", how)
    assert "hunter2" not in str(info.value) and info.value.__cause__ is None


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and then never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


@pytest.mark.slow
def test_a_server_that_never_answers_gives_up_at_connect_timeout(silent_server: int) -> None:
    with pytest.raises(ServerUnreachable, match=r"timeout expired.*connect_timeout=2s"):
        connect(f"postgresql://127.0.0.1:{silent_server}/test?connect_timeout=2")


@pytest.mark.parametrize("how", HOW)
def test_a_database_that_does_not_exist(postgres_server: str, how: str) -> None:
    name = f"sk_missing_{uuid.uuid4().hex[:8]}"
    url = postgres_server.rpartition("/")[0] + f"/{name}"
    with pytest.raises(DatabaseNotFound, match=rf'database "{name}" does not exist.*createdb'):
        _opened(url, how)


@pytest.mark.parametrize("how", HOW)
def test_credentials_refused(postgres_server: str, how: str) -> None:
    role = f"sk_nobody_{uuid.uuid4().hex[:8]}"
    url = postgres_server.replace("://", f"://{role}:wrong@", 1)
    with pytest.raises(CredentialsRefused, match=rf'role "{role}" does not exist.*check the user'):
        _opened(url, how)


def test_an_exhausted_pool_is_named_and_recovers(pg_url: str) -> None:
    migrate(pg_url)
    with PostgresPool(pg_url + "&pool_min=1&pool_max=1&pool_timeout=0.2") as pool:
        with pool.connection(), pytest.raises(
                PoolExhausted, match=r"all 1 connections.*0\.2s.*raise pool_max="), \
                pool.connection():
            pass
        with pool.connection() as conn:  # given back: usable again
            assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_connection_cut_mid_transaction(pg_url: str, raw_pg: Any) -> None:
    migrate(pg_url)
    with PostgresPool(pg_url + "&pool_max=2") as pool:
        with pytest.raises(StoreUnavailable, match="may have committed") as info, \
                pool.connection() as conn:
            conn.execute("INSERT INTO policy_state VALUES ('cut', '{}', 1, 0)")
            raw_pg.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
            conn.execute("SELECT 1")
        assert not isinstance(info.value, psycopg.Error)
        assert raw_pg.execute("SELECT count(*) FROM policy_state").fetchone() == (0,)
        with pool.connection() as conn:  # the broken connection was replaced
            assert conn.execute("SELECT count(*) FROM policy_state").fetchone() == (0,)


@pytest.mark.parametrize(("options", "error", "said"), [
    ("options=-c%20nosuch%3D1", InvalidStoreURL, 'unrecognized configuration parameter "nosuch"'),
    ("options=-c%20work_mem%3Dlots", InvalidStoreURL, 'invalid value for parameter "work_mem"'),
    ("sslmode=require", StoreUnavailable, "the server refused the connection"),
])
def test_a_server_that_refuses_the_urls_settings(postgres_server: str, options: str,
                                                 error: type[Exception], said: str) -> None:
    """Not "no server answered": it did, and said what it would not take."""
    with pytest.raises(error, match=said) as info:
        connect(f"{postgres_server}?{options}")
    assert not isinstance(info.value, ServerUnreachable)


def test_sql_errors_on_a_sound_connection_are_left_to_the_caller(pg_url: str) -> None:
    """A cancelled statement or a serialization failure is the store's to handle (retry, say):
    the pool turns only a lost connection into StoreUnavailable."""
    migrate(pg_url)
    with PostgresPool(pg_url) as pool:
        with pytest.raises(psycopg.errors.QueryCanceled), pool.connection() as conn:
            conn.execute("SET LOCAL statement_timeout = 1")
            conn.execute("SELECT pg_sleep(5)")
        with pool.connection() as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_server_gone_after_the_pool_opened_is_named_as_gone(postgres_server: str,
                                                                pg_schema: str) -> None:
    """Found in review: once the pool's connections were lost and no new one could be made,
    every call waited ``pool_timeout`` and then blamed a busy pool ("raise pool_max="), the
    wrong advice when the server is down or unreachable."""
    from urllib.parse import urlsplit

    from tcp_proxy import TcpProxy

    from statekeeper.storage.postgres import PostgresStore

    server = urlsplit(postgres_server)
    proxy = TcpProxy((server.hostname or "127.0.0.1", server.port or 5432))
    url = (f"postgresql://127.0.0.1:{proxy.port}{server.path}?schema={pg_schema}"
           f"&pool_min=1&pool_max=2&pool_timeout=1&connect_timeout=2")
    store = PostgresStore(url)
    try:
        store.migrate()
        assert store.policy_state("p") is None
        proxy.down()
        with pytest.raises(StoreUnavailable):  # the connection in hand was cut
            store.policy_state("p")
        for _ in range(2):
            with pytest.raises(ServerUnreachable, match="no PostgreSQL server answered"):
                store.policy_state("p")
        proxy.up()
        for _ in range(100):  # the pool makes its connections again once it can
            try:
                assert store.policy_state("p") is None
                break
            except StoreUnavailable:
                continue
        else:
            raise AssertionError("the store never recovered")
    finally:
        store.close()
        proxy.close()


@pytest.mark.parametrize("said", [
    # what the server answers when max_connections is reached (seen on the shared test
    # server, which this test cannot fill: other sessions would be refused too)
    "FATAL:  sorry, too many clients already",
    "FATAL:  remaining connection slots are reserved for non-replication superuser connections",
    'FATAL:  too many connections for role "app"',
])
def test_a_server_out_of_connection_slots_says_lower_pool_max(said: str) -> None:
    """Found in a full run: "sorry, too many clients already" was read as a setting the
    server refused ("fix the URL's settings"), not as a server out of connection slots."""
    from statekeeper.storage.postgres import parse_postgres_url
    from statekeeper.storage.postgres._pool import explain_failure

    exc = psycopg.OperationalError(
        f'connection failed: connection to server at "127.0.0.1", port 5432 failed: {said}')
    error = explain_failure(exc, parse_postgres_url("postgresql://127.0.0.1/test"))
    assert type(error) is StoreUnavailable
    assert "no connection slot free" in str(error) and "lower pool_max=" in str(error)
