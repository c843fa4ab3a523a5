"""``python -m statekeeper.bench postgres``: statekeeper on PostgreSQL, DBOS and bare commits beside.

On the local PostgreSQL (``--url``, default ``postgresql://127.0.0.1:5432/test``), each cell in
a schema of its own, dropped afterwards, 1,000 instances of the two-state toggle of ``bench
durable`` split over the processes (disjoint ranges: no two senders share an instance):

* committed transitions per second with 1 process and 1 sender (its send-to-commit latency is
  the headline p50/p99), and with 1, 2 and 4 processes of 16 concurrent senders each;
* effects per second run by 1 and by 2 worker processes from a pre-filled outbox;
* DBOS on the same server (its system tables in a schema of their own), a 3-step workflow,
  1 and 4 processes of 16 threads, counted in steps;
* bare single-row commits through psycopg on 1 and on 8 connections: what the server allows.

Every cell runs in separate OS processes (:mod:`.postgres_procs`) for a fixed time, and reports
the CPU time of its client processes and of the server processes that served them, so the
table says where the time goes on this machine, the database included.  Rounds interleave the
libraries so a busy spell lands on all alike; each cell keeps its best round.  Afterwards one
more schema is filled to measure bytes per instance, per transition and WAL per transition
(:func:`measure_sizes`), the inputs of ``docs/scale-out.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ._console import describe, progress_printer
from .durable_peers import installed_version
from .durable_report import statekeeper_version
from .postgres_peers import bare_job, dbos_job, dbos_prepare
from .postgres_procs import (
    Job,
    ProcsRun,
    effects_job,
    job_chart,
    run_processes,
    send_job,
)
from .postgres_report import CELLS, Cell, PostgresResults, format_table, verdict, write_json
from .postgres_server import ScratchSchemas, dbos_schema, server_facts, table_sizes, wal_lsn, with_query

__all__ = ["DEFAULT_URL", "DESCRIPTION", "Settings", "add_arguments", "main", "measure_sizes",
           "run", "run_benchmark"]

DEFAULT_URL = os.environ.get("STATEKEEPER_BENCH_POSTGRES", "postgresql://127.0.0.1:5432/test")
DESCRIPTION = (
    "statekeeper on PostgreSQL: committed transitions per second with 1 process and 1 sender "
    "and with 1, 2 and 4 client processes of 16 concurrent senders each (every send waits for "
    "its commit), send-to-commit latency, effects per second through 1 and 2 worker processes, "
    "DBOS steps per second on the same server, and bare single-row commits on 1 and 8 "
    "connections; with the CPU time per unit of the client processes and of the server. Each "
    "cell in a schema of its own, dropped afterwards. Progress to stderr, the table to stdout."
)
SENDERS = 16
_progress = progress_printer("postgres")


@dataclass(frozen=True, slots=True)
class Settings:
    """How much work one run does; ``--quick`` picks small values for smoke tests."""

    instances: int = 1_000
    seconds: float = 5.0  # timed part of each cell
    warmup: int = 320  # sends per process before the clock starts
    repeats: int = 3
    effects: int = 4_000  # outbox rows a worker cell drains
    dbos_warmup: int = 5
    size_instances: int = 10_000
    size_transitions: int = 20_000

    @classmethod
    def quick(cls) -> Settings:
        """Return settings for a run of seconds, not minutes (numbers are rough)."""
        return cls(instances=128, seconds=0.3, warmup=32, repeats=1, effects=64, dbos_warmup=1,
                   size_instances=100, size_transitions=200)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Measurement:
    row: str
    col: str
    run: Callable[[ScratchSchemas], ProcsRun]


def _tag(row: str, col: str) -> str:
    """The ``application_name`` of one cell's connections (how its server CPU is found)."""
    return f"sk-bench-{os.getpid()}-{row}-{col}"[:63]


def _fill(url: str, chart: Any, ids: list[str], effects: dict[str, Any] | None = None,
          **bindings: Any) -> None:
    """Start ``chart`` on ``ids`` through the engine's group commit; no worker runs."""
    from ..client import Client
    from ..runtime.requests import StartInstance

    with Client(url, worker=False) as client:
        client.register(chart, effects=effects, **bindings)
        submit = client.engine.submit
        for started in [submit(StartInstance(chart.name, i, None, {})) for i in ids]:
            started.result()


def _ids(count: int, prefix: str = "inst") -> list[str]:
    return [f"{prefix}-{i:07d}" for i in range(count)]


def _statekeeper(url: str, s: Settings, processes: int, senders: int,
                 chart: str = "toggle") -> Callable[..., ProcsRun]:
    def run(schemas: ScratchSchemas) -> ProcsRun:
        from .postgres_procs import bench_chart

        schema = schemas.new("sk")
        try:
            cell_url = with_query(url, schema=schema, pool_min="2", pool_max="4")
            ids = _ids(s.instances)
            definition, bindings = bench_chart(chart)
            _fill(cell_url, definition, ids, guards=bindings.get("guards"),
                  functions=bindings.get("functions"))
            tag = _tag("statekeeper", f"{processes}x{senders}{chart[0]}")
            tagged = with_query(cell_url, application_name=tag)
            jobs = [Job(send_job, {"url": tagged, "ids": ids[p::processes], "senders": senders,
                                   "seconds": s.seconds, "warmup": s.warmup, "chart": chart})
                    for p in range(processes)]
            return run_processes(jobs, url, tag)
        finally:
            schemas.drop(schema)
    return run


def _effects(url: str, s: Settings, processes: int) -> Callable[..., ProcsRun]:
    def run(schemas: ScratchSchemas) -> ProcsRun:
        from .postgres_procs import _work

        schema = schemas.new("fx")
        try:
            cell_url = with_query(url, schema=schema, pool_min="2", pool_max="8")
            _fill(cell_url, job_chart(), _ids(s.effects, "job"), {"work": _work})
            tag = _tag("effects", str(processes))
            tagged = with_query(cell_url, application_name=tag)
            jobs = [Job(effects_job, {"url": tagged, "expected": s.effects, "concurrency": SENDERS})
                    for _ in range(processes)]
            return run_processes(jobs, url, tag)
        finally:
            schemas.drop(schema)
    return run


def _dbos(url: str, s: Settings, schema: str, processes: int) -> Callable[..., ProcsRun]:
    def run(_: ScratchSchemas) -> ProcsRun:
        tag = _tag("dbos", str(processes))
        tagged = with_query(url, application_name=tag)
        jobs = [Job(dbos_job, {"url": tagged, "schema": schema, "senders": SENDERS,
                               "seconds": s.seconds, "warmup": s.dbos_warmup})
                for _ in range(processes)]
        return run_processes(jobs, url, tag)
    return run


def _bare(url: str, s: Settings, connections: int) -> Callable[..., ProcsRun]:
    def run(schemas: ScratchSchemas) -> ProcsRun:
        import psycopg

        schema = schemas.new("pg")
        try:
            table = f'"{schema}".bare'
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"CREATE TABLE {table} (id bigint GENERATED ALWAYS AS IDENTITY "
                             "PRIMARY KEY, body text NOT NULL)")
            tag = _tag("postgres", str(connections))
            job = Job(bare_job, {"url": with_query(url, application_name=tag), "table": table,
                                 "senders": connections, "seconds": s.seconds})
            return run_processes([job], url, tag)
        finally:
            schemas.drop(schema)
    return run


def _measurements(url: str, s: Settings, dbos: str | None) -> list[_Measurement]:
    found = [
        _Measurement("statekeeper", "1_process_1_sender", _statekeeper(url, s, 1, 1)),
        _Measurement("statekeeper", "1_process", _statekeeper(url, s, 1, SENDERS)),
        _Measurement("statekeeper", "2_processes", _statekeeper(url, s, 2, SENDERS)),
        _Measurement("statekeeper", "4_processes", _statekeeper(url, s, 4, SENDERS)),
        _Measurement("statekeeper", "4_processes_ledger",
                     _statekeeper(url, s, 4, SENDERS, "ledger")),
        _Measurement("effects", "1_worker", _effects(url, s, 1)),
        _Measurement("effects", "2_workers", _effects(url, s, 2)),
        _Measurement("postgres", "1_connection", _bare(url, s, 1)),
        _Measurement("postgres", "8_connections", _bare(url, s, 8)),
    ]
    if dbos is not None:
        found += [_Measurement("dbos", "1_process", _dbos(url, s, dbos, 1)),
                  _Measurement("dbos", "4_processes", _dbos(url, s, dbos, 4))]
    return found


def _cell(run: ProcsRun, latencies: list[float]) -> Cell:
    return Cell(run.per_s, run.units, run.seconds, run.cpu_ms_per_unit(run.client_cpu),
                run.cpu_ms_per_unit(run.server_cpu), run.cpu_ms_per_unit(run.background_cpu),
                run.machine_busy, latencies)


def _rounds(s: Settings, measurements: list[_Measurement], schemas: ScratchSchemas,
            results: PostgresResults) -> None:
    """Every measurement once per round; each cell keeps its best round, latencies pooled."""
    best: dict[tuple[str, str], ProcsRun] = {}
    latencies: dict[tuple[str, str], list[float]] = {}
    for r in range(s.repeats):
        for m in measurements:
            key = (m.row, m.col)
            if key in results.errors:
                continue
            label = CELLS[key][0]
            _progress(f"round {r + 1} of {s.repeats}: {label}")
            try:
                run = m.run(schemas)
            except Exception as exc:  # noqa: BLE001 - a broken cell must not stop the run
                results.errors[key] = "error"
                results.notes.append(f"{label}: {describe(exc)}")
                _progress(f"{label}: error: {describe(exc)}")
                continue
            latencies.setdefault(key, []).extend(run.latencies_ms)
            _progress(f"{label}: {run.per_s:,.0f}/s, client {run.client_cpu:.2f} s CPU, "
                      f"server {run.server_cpu:.2f} s, shared {run.background_cpu:.2f} s, "
                      f"machine {run.machine_busy:.0%} busy, {run.seconds:.2f} s")
            if key not in best or run.per_s > best[key].per_s:
                best[key] = run
    for key, run in best.items():
        results.cells[key] = _cell(run, latencies.get(key, []))


def measure_sizes(url: str, s: Settings, schemas: ScratchSchemas) -> dict[str, Any]:
    """Bytes per instance and per transition, and WAL per each, in a fresh schema.

    ``size_instances`` instances are started, then ``size_transitions`` flips sent by 16
    senders of one client; the tables are measured with ``pg_total_relation_size`` (indexes and
    TOAST included, dead row versions too: nothing is vacuumed).  WAL is the server's whole
    (anything else writing at the time is counted in).
    """
    import asyncio

    from .durable_statekeeper import _senders, toggle_chart

    schema = schemas.new("size")
    try:
        cell_url = with_query(url, schema=schema)
        ids = _ids(s.size_instances)
        from ..client import AsyncClient
        from ..storage.urls import open_store

        store = open_store(cell_url)
        try:
            store.migrate()  # the tables first, so the WAL of the starts is theirs alone
        finally:
            store.close()
        wal0 = wal_lsn(url)
        _fill(cell_url, toggle_chart(), ids)
        wal1 = wal_lsn(url)

        async def flips() -> int:
            client = AsyncClient(cell_url, worker=False)
            try:
                client.register(toggle_chart())
                return await _senders(client, ids, SENDERS, s.size_transitions)
            finally:
                await client.close()

        sent = asyncio.run(flips())
        wal2 = wal_lsn(url)
        tables = table_sizes(url, schema)
    finally:
        schemas.drop(schema)
    transitions, instances = tables["transitions"], tables["instances"]
    return {
        "instances": s.size_instances,
        "transitions": sent,
        "tables": tables,
        "bytes_per_instance": instances["bytes"] / max(1, instances["rows"]),
        "bytes_per_transition": transitions["bytes"] / max(1, transitions["rows"]),
        "bytes_total_per_instance": sum(t["bytes"] for t in tables.values()) / max(1, s.size_instances),
        "wal_bytes_per_start": (wal1 - wal0) / max(1, s.size_instances),
        "wal_bytes_per_transition": (wal2 - wal1) / max(1, sent),
    }


def run_benchmark(settings: Settings, url: str = DEFAULT_URL) -> PostgresResults:
    """Run every cell ``settings.repeats`` times on the server at ``url``; return the data."""
    results = PostgresResults()
    results.versions["statekeeper"] = statekeeper_version()
    results.server = server_facts(url)
    cpus = os.cpu_count() or 1
    results.settings = {"instances": settings.instances, "seconds_per_cell": settings.seconds,
                        "repeats": settings.repeats, "senders_per_process": SENDERS,
                        "effects_per_cell": settings.effects, "cpus": cpus}
    results.header = (
        f"statekeeper on PostgreSQL {results.server.get('server_version', '?')}: Python "
        f"{platform.python_version()}, {cpus} CPUs shared by clients and server, "
        f"synchronous_commit={results.server.get('synchronous_commit', '?')}, "
        f"{settings.instances:,} instances, {settings.seconds:g} s per cell, "
        f"best of {settings.repeats} round(s)")
    dbos_version = installed_version("dbos")
    with ScratchSchemas(url) as schemas, dbos_schema(url) as dbos:
        if dbos_version is None:
            results.notes.append("dbos: not installed (pip install 'statekeeper[bench]'): n/a")
            dbos_at: str | None = None
        else:
            results.versions["dbos"] = dbos_version
            dbos_at = dbos
            _progress("DBOS: creating its system tables")
            _in_process(dbos_prepare, url, dbos)
        _rounds(settings, _measurements(url, settings, dbos_at), schemas, results)
        _progress("sizes: filling a schema to measure bytes per instance and transition")
        try:
            results.sizes = measure_sizes(url, settings, schemas)
        except Exception as exc:  # noqa: BLE001 - reported in the notes
            results.notes.append(f"sizes: {describe(exc)}")
    return results


def _in_process(target: Callable[..., None], *args: Any) -> None:
    """Run ``target(*args)`` in a fresh process (DBOS keeps global state); raise if it failed."""
    import multiprocessing

    proc = multiprocessing.get_context("spawn").Process(target=target, args=args)
    proc.start()
    proc.join(300)
    if proc.exitcode != 0:
        raise RuntimeError(f"{target.__name__} failed (exit code {proc.exitcode})")


def _display(url: str) -> str:
    """``url`` as messages may show it (a password masked)."""
    from ..storage.postgres import parse_postgres_url

    try:
        return parse_postgres_url(url).display
    except Exception:  # noqa: BLE001 - a URL it cannot parse is shown by its scheme alone
        return url.partition("://")[0] + "://..."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``postgres`` subcommand's options to ``parser``."""
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument("--quick", action="store_true",
                        help="small run of seconds (smoke tests); numbers are rough")
    parser.add_argument("--repeats", type=int, metavar="N",
                        help="rounds; each round runs every cell once, the best is kept")
    parser.add_argument("--url", default=DEFAULT_URL,
                        help="the server (a database the user may create schemas in); default "
                             "$STATEKEEPER_BENCH_POSTGRES or postgresql://127.0.0.1:5432/test")


def run(args: argparse.Namespace) -> int:
    """Run the ``postgres`` subcommand from parsed arguments; return the exit status."""
    settings = Settings.quick() if args.quick else Settings()
    if args.repeats is not None:
        if args.repeats < 1:
            print("--repeats must be at least 1", file=sys.stderr)
            return 2
        settings = replace(settings, repeats=args.repeats)
    try:
        results = run_benchmark(settings, args.url)
    except Exception as exc:  # noqa: BLE001 - the server could not be used at all
        print(f"cannot run the PostgreSQL benchmark at {_display(args.url)}: {describe(exc)}",
              file=sys.stderr)
        return 1
    print(format_table(results))
    for line in verdict(results):
        print(line)
    if results.notes:
        print("notes:")
        for note in results.notes:
            print(f"  - {note}")
    if args.json:
        write_json(results, args.json)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``postgres`` on its own (``python -m statekeeper.bench postgres`` is the usual way)."""
    parser = argparse.ArgumentParser(prog="python -m statekeeper.bench postgres",
                                     description=DESCRIPTION)
    add_arguments(parser)
    return run(parser.parse_args(argv))
