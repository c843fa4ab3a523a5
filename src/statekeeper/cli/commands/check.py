"""``statekeeper check``: every row of a store checked, for operators.

First the store's :meth:`~statekeeper.storage.Store.integrity_check` in one read: SQLite's own
``PRAGMA integrity_check``, every row decoded (a corrupted timer, outbox or mailbox row is named
by table and key), and the rules across rows (log gaps, rows of unknown instances, timers of
finished instances).  Then the per-state instance counts the store keeps for the gauges,
against a real count of the active instances (``Store.recount_states``).  Then every instance
row, a page at a time, against its own log and, given ``--chart`` files, against its chart
(:mod:`statekeeper.runtime.audit`).  One problem a line; the exit status says whether
anything was found.  Only the counts can be repaired (``--repair``): they are derived from
the instance rows, so rebuilding them loses nothing; every other problem is a row only an
operator can judge.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from statekeeper.core.compile import CompiledChart
from statekeeper.core.errors import ChartError, ChartWarning
from statekeeper.runtime.audit import audit_instances
from statekeeper.storage._integrity import count_drift
from statekeeper.storage.sqlite import SQLiteStore

from .._common import (
    CommandError,
    Subparsers,
    add_db_argument,
    add_trust_arguments,
    compile_file_chart,
    load,
    read_store,
    trust_hint,
)

__all__ = ["register", "run"]


def register(subparsers: Subparsers) -> None:
    """Add the ``check`` command."""
    parser = subparsers.add_parser(
        "check", help="check a store's integrity (exit status 1 if anything is wrong)",
        description="Decode every row, check the rules across rows, the kept instance "
                    "counts per state, and every instance against its log and (with "
                    "--chart) its chart; repair only the counts (--repair).",
    )
    add_db_argument(parser)
    parser.add_argument("--chart", action="append", default=[], metavar="FILE",
                        help="a chart file the instances run (repeat for every chart and "
                             "version); instances are checked against it")
    parser.add_argument("--repair", action="store_true",
                        help="rebuild the kept instance counts per state from the instances "
                             "when they differ (the gauge statekeeper_instances reads them)")
    add_trust_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print each problem found, then a summary; 1 if there was any."""
    charts = [_compiled(path, args) for path in args.chart]
    unchecked: set[str] = set()
    count = 0
    with read_store(str(args.db)) as store:
        path = store.path if isinstance(store, SQLiteStore) else str(args.db)
        print(f"checking {path} (every row is read)...", file=sys.stderr, flush=True)
        for problem in store.integrity_check():
            print(problem)
            count += 1
        drift = store.recount_states(repair=args.repair)
        for (chart, version, state), (kept, counted) in drift.items():
            print(count_drift(chart, version, state, kept, counted, args.repair))
            count += 1
        for problem in audit_instances(store, charts if charts else None, unchecked):
            print(problem, flush=False)
            count += 1
    if unchecked and charts:
        print(f"note: charts not given with --chart, their instances not checked against a "
              f"chart: {', '.join(sorted(unchecked))}", file=sys.stderr)
    print(f"{path}: {count} problem(s)" if count else f"{path}: ok")
    return 1 if count else 0


def _compiled(path: str, args: argparse.Namespace) -> CompiledChart:
    """The chart in ``path``, compiled as ``validate`` compiles it.

    Its shape warnings are left to ``validate``: they say nothing about the rows.
    """
    chart = load(path, trusted=args.trusted, base_dir=args.base_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChartWarning)
        try:
            return compile_file_chart(chart, trusted=args.trusted)
        except ChartError as exc:
            raise CommandError(f"{path}: {exc}{trust_hint(exc, args.trusted)}") from None
