"""TCP keepalives: a cut network is noticed, on the pool and on a worker's long-lived connection.

Without them a connection whose peer vanished without closing it (a machine lost, a firewall
dropping the flow) looks alive for two hours (the kernel's default): a worker keeps waiting
for wake-ups that never come, and the server keeps a dead leader's session, and its lock, so
no other worker leads.  The tests read what the kernel was told, from the sockets themselves.
"""

from __future__ import annotations

import os
import socket
import threading
from typing import Any

import pytest

psycopg = pytest.importorskip("psycopg", reason="PostgreSQL tests need the postgres extra")

from statekeeper.storage import InvalidStoreURL  # noqa: E402
from statekeeper.storage.postgres import (  # noqa: E402
    PostgresPool,
    PostgresStore,
    parse_postgres_url,
)
from statekeeper.storage.postgres._pool import connect  # noqa: E402
from statekeeper.storage.signals import SignalHandlers  # noqa: E402

_OPTIONS = (socket.TCP_KEEPIDLE, socket.TCP_KEEPINTVL, socket.TCP_KEEPCNT)


def probes(fd: int) -> tuple[int, int, int, int]:
    """``(SO_KEEPALIVE, idle, interval, count)`` the kernel holds for socket ``fd``."""
    sock = socket.socket(fileno=os.dup(fd))
    try:
        on = sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
        idle, interval, count = (sock.getsockopt(socket.IPPROTO_TCP, o) for o in _OPTIONS)
        return (1 if on else 0), idle, interval, count
    finally:
        sock.close()


def tcp_sockets() -> dict[int, tuple[int, int, int, int]]:
    """Every TCP socket of this process to the test server, by fd, with its probes."""
    found = {}
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if not os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                continue
            sock = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue
        try:
            if sock.family is socket.AF_INET and sock.type is socket.SOCK_STREAM:
                sock.getpeername()
                found[fd] = probes(fd)
        except OSError:
            pass
        finally:
            sock.close()
    return found


def show(conn: Any, name: str) -> str:
    return str(conn.execute(f"SHOW {name}").fetchone()[0])


@pytest.fixture
def tcp_url(pg_url: str) -> str:
    if "host=/" in pg_url or "@/" in pg_url:
        pytest.skip("keepalives apply to TCP connections, not a Unix socket")
    return pg_url


# -- the settings (no server) ---------------------------------------------------------------------


def test_pooled_and_long_lived_defaults() -> None:
    s = parse_postgres_url("postgresql://127.0.0.1/test?schema=shop")
    pooled = s.connect_kwargs()
    assert [pooled[k] for k in ("keepalives", "keepalives_idle", "keepalives_interval",
                                "keepalives_count")] == [1, 30, 10, 3]
    assert pooled["options"] == "-c search_path=shop"
    long_lived = s.connect_kwargs(long_lived=True)
    assert [long_lived[k] for k in ("keepalives_idle", "keepalives_interval",
                                    "keepalives_count")] == [10, 5, 3]
    assert long_lived["options"] == ("-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 "
                                     "-c tcp_keepalives_count=3 -c search_path=shop")


def test_the_url_sets_them_for_every_connection() -> None:
    s = parse_postgres_url("postgresql://127.0.0.1/test?keepalives_idle=7&keepalives_count=9"
                           "&options=-c%20tcp_keepalives_count%3D4")
    for long_lived in (False, True):
        kwargs = s.connect_kwargs(long_lived=long_lived)
        assert (kwargs["keepalives_idle"], kwargs["keepalives_count"]) == (7, 9)
    # the URL's own server options come after statekeeper's, so they win on the server
    assert s.connect_kwargs(long_lived=True)["options"] == (
        "-c tcp_keepalives_idle=7 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=9 "
        "-c tcp_keepalives_count=4 -c search_path=statekeeper")
    off = parse_postgres_url("postgresql://127.0.0.1/test?keepalives=0")
    assert off.connect_kwargs(long_lived=True)["keepalives"] == 0
    assert "tcp_keepalives" not in off.connect_kwargs(long_lived=True)["options"]


@pytest.mark.parametrize("query", ["keepalives_idle=soon", "keepalives_count=-1",
                                   "keepalives_interval=1.5"])
def test_a_bad_keepalive_is_named(query: str) -> None:
    with pytest.raises(InvalidStoreURL, match=f"{query.partition('=')[0]}=.*whole number"):
        parse_postgres_url(f"postgresql://127.0.0.1/test?{query}")


# -- the sockets (a live server) -------------------------------------------------------------------


@pytest.mark.postgres
def test_a_long_lived_connection_probes_on_both_sides(tcp_url: str) -> None:
    with connect(tcp_url, autocommit=True, long_lived=True) as conn:
        assert probes(conn.pgconn.socket) == (1, 10, 5, 3)
        assert [show(conn, f"tcp_{name}") for name in (
            "keepalives_idle", "keepalives_interval", "keepalives_count")] == ["10", "5", "3"]
    with connect(f"{tcp_url}&keepalives_idle=7", long_lived=True) as conn:
        assert probes(conn.pgconn.socket) == (1, 7, 5, 3)
        assert show(conn, "tcp_keepalives_idle") == "7"


@pytest.mark.postgres
def test_pooled_connections_probe(tcp_url: str) -> None:
    with PostgresPool(f"{tcp_url}&pool_min=2&pool_max=2") as pool, \
            pool.connection() as a, pool.connection() as b:
        assert probes(a.pgconn.socket) == probes(b.pgconn.socket) == (1, 30, 10, 3)
    with PostgresPool(f"{tcp_url}&keepalives_interval=4") as pool, pool.connection() as c:
        assert probes(c.pgconn.socket) == (1, 30, 4, 3)


@pytest.mark.postgres
def test_the_listening_connection_probes_as_a_long_lived_one(tcp_url: str) -> None:
    store = PostgresStore(tcp_url)
    store.migrate()
    before = set(tcp_sockets())
    listening = threading.Event()
    signals = store.open_signals(SignalHandlers(
        effects=lambda: None, timer=lambda due: None, resync=listening.set, lead=False))
    try:
        assert listening.wait(10)
        opened = [p for fd, p in tcp_sockets().items() if fd not in before]
        assert opened == [(1, 10, 5, 3)], opened
    finally:
        signals.close()
        store.close()
