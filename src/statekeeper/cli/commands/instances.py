"""``statekeeper instances``: find instances in a store by chart, state, labels and status.

Read-only: the store is opened without a client (no engine, no worker, no migration), so it is
safe to run beside the processes that use it.  A corrupted instance row does not hide the
others: they are listed, the row is named on stderr, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import sys

from statekeeper.storage.records import CorruptedRow, InstanceRecord

from .._common import (
    CommandError,
    Subparsers,
    add_db_argument,
    int_argument,
    print_rows,
    read_store,
)

__all__ = ["register", "run"]


def register(subparsers: Subparsers) -> None:
    """Add the ``instances`` command."""
    parser = subparsers.add_parser(
        "instances", help="list instances by chart, state, labels and status",
        description="Instances in id order, at most --limit of them; pass the last id as "
                    "--after for the next page.",
    )
    add_db_argument(parser)
    parser.add_argument("--chart", help="only instances of this chart")
    parser.add_argument("--state", help="only instances with this state active")
    parser.add_argument("--status", choices=("active", "done"), help="only this status")
    parser.add_argument("--label", action="append", default=[], metavar="KEY=VALUE",
                        help="only instances with this label (repeat for several)")
    parser.add_argument("--limit", type=int_argument, default=100,
                        help="at most this many (100)")
    parser.add_argument("--after", metavar="ID", help="only ids after this one (paging)")
    parser.add_argument("--json", action="store_true", help="print JSON lines")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Query the store and print one line per instance."""
    labels = {}
    for item in args.label:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CommandError(f"--label {item!r}: write it as KEY=VALUE")
        labels[key] = value
    if args.limit < 1:
        raise CommandError("--limit must be at least 1")
    corrupted: list[CorruptedRow] = []
    with read_store(str(args.db)) as store:
        found = store.query(chart=args.chart, state=args.state, labels=labels or None,
                            status=args.status, limit=args.limit, after=args.after,
                            corrupted=corrupted)
    print_rows(found, as_json=args.json, line=_line, fields=_as_dict, noun="instance")
    for row in corrupted:
        print(f"statekeeper: left out: {row.problem}", file=sys.stderr)
    if corrupted:
        print(f"statekeeper: {len(corrupted)} corrupted instance row(s) left out; run "
              f"`statekeeper check --db {args.db}` for everything wrong", file=sys.stderr)
        return 1
    return 0


def _line(record: InstanceRecord) -> str:
    labels = ",".join(f"{k}={v}" for k, v in sorted(record.labels.items())) or "-"
    return (f"{record.id}\t{record.chart} v{record.version}\t{record.status}\t"
            f"{' '.join(record.configuration)}\trev {record.rev}\t{labels}")


def _as_dict(record: InstanceRecord) -> dict[str, object]:
    return {"id": record.id, "chart": record.chart, "version": record.version,
            "status": record.status, "configuration": list(record.configuration),
            "rev": record.rev, "labels": dict(record.labels),
            "data": record.snapshot.get("data"), "created_at": record.created_at,
            "updated_at": record.updated_at}
