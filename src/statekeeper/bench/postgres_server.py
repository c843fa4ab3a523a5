"""The PostgreSQL side of ``bench postgres``: scratch schemas, CPU of the server, table sizes.

The benchmark runs on a server other programs may use too (here: other engineers' tests), so
it touches only what it made: every measurement gets a schema of its own, named
``sk_bench_<pid>_<n>`` and dropped with ``CASCADE`` afterwards, and every connection it opens
carries an ``application_name`` of its own, by which :func:`server_cpu` finds the server
processes that worked for it in ``pg_stat_activity`` and reads their CPU time from
``/proc/<pid>/stat``.  The server's shared background processes (WAL writer, checkpointer...)
are read too, but reported apart: they also work for whoever else uses the server.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg

__all__ = [
    "BACKGROUND",
    "CpuSnapshot",
    "ScratchSchemas",
    "machine_busy",
    "server_cpu",
    "server_facts",
    "table_sizes",
    "wal_lsn",
    "with_query",
]

#: ``backend_type`` of the server processes that work for every client alike.
BACKGROUND = ("walwriter", "checkpointer", "background writer", "autovacuum worker",
              "autovacuum launcher")
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_SETTINGS = ("fsync", "synchronous_commit", "wal_sync_method", "max_connections",
             "shared_buffers", "commit_delay", "autovacuum")
_counter = itertools.count(1)


def with_query(url: str, **params: str) -> str:
    """``url`` with ``params`` set in its query string (replacing any of the same name)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in params]
    query += list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def _base(url: str) -> str:
    """The URL libpq can use: statekeeper's own options (``schema=``, ``pool_*``) left out."""
    parts = urlsplit(url)
    own = {"schema", "pool_min", "pool_max", "pool_timeout", "allow_foreign_tables"}
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in own]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _connect(url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(_base(url), autocommit=True, connect_timeout=10)


class ScratchSchemas:
    """Schemas made for one run, all dropped by :meth:`drop_all` (and by ``with``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.made: list[str] = []

    def new(self, what: str) -> str:
        """A fresh, empty schema name for ``what`` (created, so it can be dropped)."""
        name = f"sk_bench_{os.getpid()}_{next(_counter)}_{what}"[:63]
        with _connect(self.url) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        self.made.append(name)
        return name

    def drop(self, name: str) -> None:
        with _connect(self.url) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        if name in self.made:
            self.made.remove(name)

    def drop_all(self) -> None:
        for name in list(self.made):
            self.drop(name)

    def __enter__(self) -> ScratchSchemas:
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop_all()


def _cpu_of(pid: int) -> float | None:
    """Seconds of CPU (user + system) process ``pid`` used so far; ``None`` once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime: fields 14 and 15


@dataclass(frozen=True, slots=True)
class CpuSnapshot:
    """CPU seconds per server process: those of one ``application_name``, and the shared ones."""

    ours: Mapping[int, float]
    background: Mapping[int, float]

    def since(self, earlier: CpuSnapshot) -> tuple[float, float]:
        """CPU seconds used since ``earlier``: by our backends, by the background processes.

        A backend that appeared since counts from zero (its start-up is the only part missed).
        """
        ours = sum(v - earlier.ours.get(pid, 0.0) for pid, v in self.ours.items())
        shared = sum(v - earlier.background.get(pid, 0.0) for pid, v in self.background.items())
        return ours, shared


def server_cpu(url: str, application_name: str) -> CpuSnapshot:
    """CPU seconds of the server processes serving ``application_name``, and the shared ones.

    Reads ``pg_stat_activity`` for the process ids and ``/proc/<pid>/stat`` for their time, so
    it works only on the machine the server runs on (else both maps are empty).
    """
    with _connect(url) as conn:
        rows = conn.execute(
            "SELECT pid, application_name, backend_type FROM pg_stat_activity "
            "WHERE application_name = %s OR backend_type = ANY(%s)",
            (application_name, list(BACKGROUND))).fetchall()
    ours: dict[int, float] = {}
    background: dict[int, float] = {}
    for pid, name, _kind in rows:
        cpu = _cpu_of(int(str(pid)))
        if cpu is not None:
            (ours if name == application_name else background)[int(str(pid))] = cpu
    if (postmaster := _postmaster_pid(url)) is not None and (cpu := _cpu_of(postmaster)):
        background[postmaster] = cpu
    return CpuSnapshot(ours, background)


def _postmaster_pid(url: str) -> int | None:
    with _connect(url) as conn:
        row = conn.execute("SELECT setting FROM pg_settings WHERE name = 'data_directory'").fetchone()
    if row is None:
        return None
    try:
        with open(os.path.join(str(row[0]), "postmaster.pid"), encoding="ascii") as pidfile:
            return int(pidfile.readline())
    except (OSError, ValueError):
        return None


def machine_busy() -> tuple[float, float]:
    """Seconds of CPU the whole machine spent busy and in total so far (all cores, /proc/stat)."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return 0.0, 0.0
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values) - idle) / _TICK, sum(values) / _TICK


def wal_lsn(url: str) -> int:
    """The server's current WAL position in bytes (the difference of two is WAL written)."""
    with _connect(url) as conn:
        row = conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')").fetchone()
    return int(str(row[0])) if row else 0


def table_sizes(url: str, schema: str) -> dict[str, dict[str, int]]:
    """Per table of ``schema``: live rows, and bytes with its indexes and TOAST."""
    sizes: dict[str, dict[str, int]] = {}
    with _connect(url) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename",
            (schema,)).fetchall()
        for (table,) in tables:
            qualified = f'"{schema}"."{table}"'
            rows = conn.execute(f"SELECT count(*) FROM {qualified}").fetchone()
            size = conn.execute("SELECT pg_total_relation_size(%s::regclass)",
                                (qualified,)).fetchone()
            sizes[str(table)] = {"rows": int(str(rows[0])) if rows else 0,
                                 "bytes": int(str(size[0])) if size else 0}
    return sizes


def server_facts(url: str) -> dict[str, str]:
    """The server's version and the settings that decide commit speed."""
    with _connect(url) as conn:
        facts = {"server_version": str(conn.execute("SHOW server_version").fetchone()[0])}  # type: ignore[index]
        for name, value in conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", (list(_SETTINGS),)):
            facts[str(name)] = str(value)
    return facts


@contextmanager
def dbos_schema(url: str) -> Iterator[str]:
    """A schema for DBOS's system tables in the benchmark's database, dropped afterwards."""
    name = f"sk_bench_{os.getpid()}_dbos"
    with _connect(url) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    try:
        yield name
    finally:
        with _connect(url) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
