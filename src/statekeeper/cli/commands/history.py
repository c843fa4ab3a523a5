"""``statekeeper history``: an instance's transition log, the audit trail of every step.

Read-only, like ``statekeeper instances``: no client, no engine, no migration.
"""

from __future__ import annotations

import argparse

from statekeeper.storage.records import TransitionRecord

from .._common import (
    CommandError,
    Subparsers,
    add_db_argument,
    int_argument,
    print_rows,
    read_store,
    text_argument,
)

__all__ = ["register", "run"]


def register(subparsers: Subparsers) -> None:
    """Add the ``history`` command."""
    parser = subparsers.add_parser(
        "history", help="an instance's transition log",
        description="Every step of one instance, oldest first: applied, ignored and rejected "
                    "events, who sent them and why.",
    )
    add_db_argument(parser)
    parser.add_argument("instance", metavar="INSTANCE", type=text_argument,
                        help="the instance id")
    parser.add_argument("--after", type=int_argument, default=0, metavar="SEQ",
                        help="only the rows after this seq (to follow a log as it grows)")
    parser.add_argument("--limit", type=int_argument, default=None, help="at most this many rows")
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Read the log and print one line per row."""
    if args.limit is not None and args.limit < 1:
        raise CommandError("--limit must be at least 1")
    if args.after < 0:
        raise CommandError("--after must be 0 or more (a seq)")
    with read_store(str(args.db)) as store:
        rows = store.history(args.instance, limit=args.limit, after=args.after)
    print_rows(rows, as_json=args.json, line=_line, fields=_as_dict, noun="row")
    return 0


def _line(row: TransitionRecord) -> str:
    move = f"{' '.join(row.source) or '(start)'} -> {' '.join(row.target)}"
    extra = "\t".join(part for part in (
        f"actor={row.actor}" if row.actor else "", row.reason or "") if part)
    return f"{row.seq}\t{row.event}\t{row.outcome}\t{move}" + (f"\t{extra}" if extra else "")


def _as_dict(row: TransitionRecord) -> dict[str, object]:
    return {"seq": row.seq, "event": row.event, "outcome": row.outcome,
            "source": list(row.source), "target": list(row.target), "at": row.at,
            "data": row.data, "actor": row.actor, "trace_id": row.trace_id,
            "reason": row.reason, "idempotency_key": row.idempotency_key,
            "chart_version": row.chart_version}
