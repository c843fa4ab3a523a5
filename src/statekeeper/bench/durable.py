"""``python -m statekeeper.bench durable``: durable transitions per second against peers.

On a fresh SQLite file per phase, with the store's defaults (WAL, ``synchronous=FULL``):
committed transitions per second with one sender and with 16 concurrent senders over 1,000
instances, the send-to-commit latency of one sender, then the same work through the two
durable peers pinned in the ``bench`` extra (xstate-statemachine as shipped and forced to
FULL; DBOS steps in a 3-step workflow), and last the file size and creation rate of a million
instances.  See :mod:`.durable_statekeeper` and :mod:`.durable_peers` for how each is driven.
"""

from __future__ import annotations

import argparse
import platform
import sqlite3
import sys
import tempfile
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from ._console import describe, progress_printer
from .durable_chart_cells import chart_measurements
from .durable_disk import run_sqlite_commits
from .durable_peers import DbosBench, PeerRun, run_xstate
from .durable_report import SK, DurableResults, format_table, statekeeper_version, verdict, write_json
from .durable_rounds import DISK_ROW, ENGINE_ROW, Measurement, peer_installed, run_rounds
from .durable_statekeeper import (
    SenderRun,
    create_instances,
    fresh_path,
    run_engine_alone,
    run_one_sender,
    run_senders,
)

__all__ = ["DESCRIPTION", "PARTS", "SENDERS", "Settings", "add_arguments", "main", "run", "run_benchmark"]

DESCRIPTION = (
    "Durable throughput on SQLite with synchronous=FULL: committed transitions per second with "
    "1 and 16 concurrent senders over 1,000 instances, send-to-commit latency, the engine fed "
    "by one thread (no client; at FULL and with no fsync, to show what the disk costs), bare "
    "SQLite commits of 1 and of 16 rows at FULL (what the disk allows), the same work "
    "through xstate-statemachine's SQLite store (as shipped, NORMAL, and forced to FULL) and "
    "DBOS steps per second, and the size and creation rate of 1,000,000 instances; then a "
    "data-driven chart (guards over data and payload, assigns, an effect and a timer every "
    "4 events; final states checked against a model) and its durable starts, statekeeper "
    "beside xstate-statemachine. Progress goes to stderr; the table to stdout."
)
#: Concurrent senders of the "16_senders" column (the name is part of the JSON format).
SENDERS = 16
#: What ``--only`` can select.
PARTS = ("statekeeper", "engine", "disk", "xstate", "dbos", "chart", "starts", "million")
#: Synchronous levels of the engine-alone measurement: as shipped, and with no fsync at all.
ENGINE_LEVELS = ("FULL", "OFF")
#: Rows per commit of the bare-SQLite cells -> their column.
DISK_GROUPS = {"1_row_per_commit": 1, f"{SENDERS}_rows_per_commit": SENDERS}


@dataclass(frozen=True, slots=True)
class Settings:
    """How much work one run does; ``--quick`` picks small values for smoke tests."""

    instances: int = 1_000
    one_sender_events: int = 3_000
    many_events: int = 40_000
    warmup: int = 500
    repeats: int = 3
    peer_events: int = 2_000
    dbos_workflows: int = 300
    disk_commits: int = 2_000
    million: int = 1_000_000
    chart_instances: int = 1_000
    chart_rounds: int = 20  # adds per instance: 20,000 transitions per run
    starts: int = 10_000
    peer_starts: int = 2_000

    @classmethod
    def quick(cls) -> Settings:
        """Return settings for a run of seconds, not minutes (numbers are rougher)."""
        return cls(one_sender_events=300, many_events=2_000, warmup=50, repeats=1,
                   peer_events=160, dbos_workflows=10, disk_commits=100,
                   million=2_000, chart_instances=64, chart_rounds=8, starts=300,
                   peer_starts=64)  # fmt: skip


_progress = progress_printer("durable")
_error = describe


def _measurements(settings: Settings, only: tuple[str, ...], results: DurableResults) -> list[Measurement]:
    """Every selected cell, in the order one round runs them; missing peers noted as n/a."""
    s = settings
    found: list[Measurement] = []
    if "statekeeper" in only:
        found.append(
            Measurement(
                SK,
                "1_sender",
                "statekeeper, 1 sender",
                "transitions/s",
                "FULL",
                lambda d: run_one_sender(
                    fresh_path(d, "sk-1.db"), s.instances, s.one_sender_events, s.warmup
                ),
            )
        )
        found.append(
            Measurement(
                SK,
                "16_senders",
                f"statekeeper, {SENDERS} senders",
                "transitions/s",
                "FULL",
                lambda d: run_senders(
                    fresh_path(d, "sk-16.db"), s.instances, SENDERS, s.many_events, s.warmup
                ),
            )
        )
    if "engine" in only:  # in the rounds too, so FULL and OFF share the machine's busy spells
        for level in ENGINE_LEVELS:
            found.append(
                Measurement(
                    ENGINE_ROW,
                    level,
                    f"engine from one thread, {level}",
                    "transitions/s",
                    level,
                    partial(_engine_alone, level=level, settings=s),
                )
            )
    if "disk" in only:  # what bare SQLite commits on this disk, in the same rounds
        for col, rows in DISK_GROUPS.items():
            found.append(
                Measurement(
                    DISK_ROW,
                    col,
                    f"bare SQLite, {rows} row(s) per FULL commit",
                    "rows/s",
                    "FULL",
                    partial(_disk, rows=rows, settings=s),
                )
            )
    if "xstate" in only and peer_installed("xstate-statemachine", results):
        for row, level in (
            ("xstate_statemachine_full", "FULL"),
            ("xstate_statemachine_normal", "NORMAL"),
        ):
            for senders, col in ((1, "1_sender"), (SENDERS, "16_senders")):
                found.append(
                    Measurement(
                        row,
                        col,
                        f"xstate-statemachine {level}, {senders} sender(s)",
                        "transitions/s",
                        level,
                        partial(_xstate, full=level == "FULL", settings=s, senders=senders),
                    )
                )
    if "dbos" in only and peer_installed("dbos", results):
        for senders, col in ((1, "1_sender"), (SENDERS, "16_senders")):
            found.append(
                Measurement(
                    "dbos_steps_per_s",
                    col,
                    f"DBOS, {senders} sender(s)",
                    "steps/s",
                    None,
                    partial(_dbos, settings=s, senders=senders),
                )
            )
    return found


def _engine_alone(directory: Path, *, level: str, settings: Settings) -> SenderRun:
    return run_engine_alone(fresh_path(directory, f"engine-{level}.db"), settings.instances,
                            SENDERS, settings.many_events, settings.warmup, level)


def _disk(directory: Path, *, rows: int, settings: Settings) -> SenderRun:
    return run_sqlite_commits(fresh_path(directory, f"bare-{rows}.db"), rows,
                              settings.disk_commits, max(1, settings.warmup // 10))


def _xstate(directory: Path, *, full: bool, settings: Settings, senders: int) -> PeerRun:
    level = "full" if full else "normal"
    return run_xstate(
        fresh_path(directory, f"xstate-{level}-{senders}.db"),
        full=full,
        instances=settings.instances,
        senders=senders,
        events=settings.peer_events,
        warmup=min(settings.warmup, settings.peer_events),
    )


def _dbos(directory: Path, *, settings: Settings, senders: int) -> PeerRun:
    with DbosBench(fresh_path(directory, f"dbos-{senders}.sqlite")) as bench:
        return bench.run(
            senders=senders, workflows=settings.dbos_workflows, warmup=min(5, settings.dbos_workflows)
        )


def _bench_million(settings: Settings, directory: Path, results: DurableResults) -> None:
    count = settings.million
    _progress(f"statekeeper: creating {count:,} instances on a fresh file")
    try:
        made = create_instances(fresh_path(directory, "million.db"), count, progress=_progress)
    except Exception as exc:  # noqa: BLE001 - reported in the notes
        results.notes.append(f"creating {count:,} instances: {_error(exc)}")
        _progress(f"creating instances: error: {_error(exc)}")
        return
    results.million = {
        "count": float(made.count),
        "bytes": float(made.bytes),
        "per_s": made.per_s,
        "seconds": made.seconds,
    }
    _progress(f"created {made.count:,} instances at {made.per_s:,.0f}/s; file {made.bytes / 1e6:,.1f} MB")


def run_benchmark(settings: Settings, directory: Path, only: tuple[str, ...] = PARTS) -> DurableResults:
    """Run the selected parts in ``directory``; return the data, not the table."""
    unknown = sorted(set(only) - set(PARTS))
    if unknown:
        raise ValueError(f"unknown part(s) {unknown}; choose from {', '.join(PARTS)}")
    results = DurableResults()
    results.versions[SK] = statekeeper_version()
    results.header = (
        f"statekeeper durable benchmark: Python {platform.python_version()}, SQLite "
        f"{sqlite3.sqlite_version}, a fresh file per phase, {settings.instances:,} instances of "
        f"a 2-state toggle (and {settings.chart_instances:,} of the data-driven chart, "
        f"{settings.chart_rounds} events each), every send waits for its commit; best of "
        f"{settings.repeats} round(s)"
    )
    measurements = _measurements(settings, only, results) + chart_measurements(settings, only, results)
    run_rounds(settings.repeats, directory, measurements, results)
    if "million" in only:
        _bench_million(settings, directory, results)
    return results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``durable`` subcommand's options to ``parser``."""
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument(
        "--merge", action="store_true",
        help="with --json: keep the existing file's figures for the parts this run did not "
             "measure (e.g. --only chart,starts updates only those tables)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="small run of seconds (smoke tests); numbers are rough"
    )
    parser.add_argument(
        "--only", metavar="PART[,PART]", help=f"run only these parts (of: {', '.join(PARTS)})"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        metavar="N",
        help="rounds; each round runs every measurement once, the best is kept",
    )
    parser.add_argument(
        "--million",
        type=int,
        metavar="N",
        help="instances for the size and creation-rate measurement (default 1,000,000; 2,000 with --quick)",
    )
    parser.add_argument(
        "--dir",
        metavar="DIR",
        help="where the database files go (default: a temporary directory, "
        "removed afterwards); it must be on the disk you want to measure",
    )


def run(args: argparse.Namespace) -> int:
    """Run the ``durable`` subcommand from parsed arguments; return the exit status."""
    settings = Settings.quick() if args.quick else Settings()
    overrides = {
        key: value
        for key, value in (("repeats", args.repeats), ("million", args.million))
        if value is not None
    }
    if any(value < 1 for value in overrides.values()):
        print("--repeats and --million must be at least 1", file=sys.stderr)
        return 2
    settings = replace(settings, **overrides)
    only = tuple(p.strip() for p in args.only.split(",") if p.strip()) if args.only else PARTS
    try:
        if args.dir:
            Path(args.dir).mkdir(parents=True, exist_ok=True)
            results = run_benchmark(settings, Path(args.dir), only)
        else:
            with tempfile.TemporaryDirectory(prefix="statekeeper-bench-") as tmp:
                results = run_benchmark(settings, Path(tmp), only)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(format_table(results))
    for line in verdict(results):
        print(line)
    if results.notes:
        print("notes:")
        for note in results.notes:
            print(f"  - {note}")
    if args.json:
        write_json(results, args.json, merge=args.merge)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``durable`` on its own (``python -m statekeeper.bench durable`` is the usual way)."""
    parser = argparse.ArgumentParser(prog="python -m statekeeper.bench durable", description=DESCRIPTION)
    add_arguments(parser)
    return run(parser.parse_args(argv))
