"""``statekeeper audit``: the transition log of every instance, by filter, a page at a time.

``statekeeper audit prune --older-than 30d --archive FILE.jsonl`` applies retention: the old
rows are appended to the archive, which is flushed to disk, and only then deleted (see
:mod:`statekeeper.runtime.retention`).  Reading opens the store without a client (no engine,
no worker, no migration), as ``instances`` and ``history`` do.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from statekeeper.core.durations import parse_duration
from statekeeper.runtime.retention import prune_log
from statekeeper.storage.audit import AuditFilter, transition_dict
from statekeeper.storage.records import TransitionRecord
from statekeeper.storage.tables import OUTCOMES

from .._common import CommandError, Subparsers, int_argument, read_store, text_argument
from .._table import moment, table, time_argument

__all__ = ["register", "run"]


def register(subparsers: Subparsers) -> None:
    """Add the ``audit`` command and its ``prune`` action."""
    parser = subparsers.add_parser(
        "audit", help="the transition log of every instance, by filter",
        description="Transition rows of every instance that pass every filter given, oldest "
                    "first, at most --limit of them; the last line says how to get the next "
                    "page. Times are UTC.",
    )
    _add_db(parser, None)
    parser.add_argument("--instance", type=text_argument, help="only this instance's rows")
    parser.add_argument("--chart", type=text_argument, help="only instances of this chart")
    parser.add_argument("--actor", type=text_argument, help="only rows sent by this actor")
    parser.add_argument("--event", type=text_argument, help="only this event")
    parser.add_argument("--state", type=text_argument,
                        help="only rows whose source or target holds this state")
    parser.add_argument("--outcome", choices=sorted(OUTCOMES), help="only this outcome")
    parser.add_argument("--since", metavar="TIME",
                        help="only rows at or after TIME: 2026-12-01T08:00, seconds, or 2h "
                             "(that long ago)")
    parser.add_argument("--until", metavar="TIME", help="only rows before TIME")
    parser.add_argument("--limit", type=int_argument, default=100,
                        help="at most this many rows (100)")
    parser.add_argument("--after", metavar="CURSOR", type=text_argument,
                        help="the cursor the previous page printed (paging)")
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    parser.set_defaults(run=run, action=None)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    prune = actions.add_parser(
        "prune", help="archive, then delete, rows older than an age",
        description="Append the rows older than --older-than to --archive (JSON Lines), flush "
                    "it to disk, then delete them in one transaction. Each instance keeps its "
                    "latest row. If the archive cannot be written, nothing is deleted.")
    _add_db(prune, argparse.SUPPRESS)
    prune.add_argument("--older-than", required=True, metavar="AGE",
                       help="the age of the rows to prune: 30d, 12h, 90m ...")
    prune.add_argument("--archive", required=True, metavar="FILE",
                       help="the JSON Lines file the rows are appended to (created if missing)")
    prune.set_defaults(run=run_prune)


def _add_db(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument("--db", metavar="STORE", default=default,
                        help="the store: a SQLite file or a store URL")


def _db(args: argparse.Namespace) -> str:
    if getattr(args, "db", None) is None:
        raise CommandError("--db is required: the store to read (a SQLite file or a URL)")
    return str(args.db)


def run(args: argparse.Namespace) -> int:
    """Read one page of the log and print it."""
    if args.limit < 1:
        raise CommandError("--limit must be at least 1")
    filters = AuditFilter(
        instance=args.instance, chart=args.chart, actor=args.actor, event=args.event,
        state=args.state, outcome=args.outcome,
        since=None if args.since is None else time_argument("--since", args.since),
        until=None if args.until is None else time_argument("--until", args.until))
    with read_store(_db(args)) as store:
        rows = store.audit(filters, limit=args.limit, after=_cursor(args.after))
    if args.json:
        for row in rows:
            print(json.dumps(transition_dict(row), ensure_ascii=False))
    else:
        for line in table(("AT (UTC)", "INSTANCE", "SEQ", "EVENT", "OUTCOME", "FROM", "TO",
                           "ACTOR"), [_cells(row) for row in rows]):
            print(line)
        print(f"{len(rows)} row(s)")
    if len(rows) == args.limit:
        last = rows[-1]
        print(f"more: pass --after {last.at!r}/{last.id}", file=sys.stderr)
    return 0


def _cursor(text: str | None) -> tuple[float, int] | None:
    if text is None:
        return None
    at, _, row_id = text.partition("/")
    try:
        return float(at), int(row_id)
    except ValueError:
        raise CommandError(f"--after {text!r} is not a cursor; pass the one the previous "
                           f"page printed (TIME/ID)") from None


def _cells(row: TransitionRecord) -> tuple[str, ...]:
    return (moment(row.at), row.instance, str(row.seq), row.event, row.outcome,
            " ".join(row.source) or "(start)", " ".join(row.target), row.actor or "-")


def run_prune(args: argparse.Namespace) -> int:
    """Archive and delete the rows older than ``--older-than``; say how many."""
    try:
        age = parse_duration(args.older_than)
    except ValueError as exc:
        raise CommandError(f"--older-than {args.older_than!r}: {exc}") from None
    if not args.archive:
        raise CommandError("--archive names the file the rows are written to")
    with read_store(_db(args)) as store:
        report = prune_log(store, time.time() - age, args.archive)
    print(f"archived {report.archived} row(s) older than {moment(report.before)} UTC to "
          f"{report.archive}; deleted {report.deleted}")
    return 0
