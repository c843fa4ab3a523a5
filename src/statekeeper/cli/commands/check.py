"""``statekeeper check``: the store's integrity check, for operators.

Runs :meth:`~statekeeper.storage.Store.integrity_check` in one read: SQLite's own
``PRAGMA integrity_check``, every row decoded (a corrupted one is named by table and key), and
the rules across rows (log gaps, rows of unknown instances, timers of finished instances).
Nothing is repaired: the exit status says whether anything was found.
"""

from __future__ import annotations

import argparse
import sys

from .._common import Subparsers, add_db_argument, read_store

__all__ = ["register", "run"]


def register(subparsers: Subparsers) -> None:
    """Add the ``check`` command."""
    parser = subparsers.add_parser(
        "check", help="check a store's integrity (exit status 1 if anything is wrong)",
        description="Decode every row and check the rules across rows; repair nothing.",
    )
    add_db_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print each problem found, then a summary; 1 if there was any."""
    with read_store(str(args.db)) as store:
        path = store.path
        print(f"checking {path} (every row is read)...", file=sys.stderr, flush=True)
        problems = store.integrity_check()
    for problem in problems:
        print(problem)
    print(f"{path}: {len(problems)} problem(s)" if problems else f"{path}: ok")
    return 1 if problems else 0
