"""``statekeeper history``: one instance's life, a table of its steps and its time in each state.

Each row shows how long the instance had been in the states it left (``IN SOURCE``); a
summary gives the time spent in each state, counted to now for the states it is still in
(:mod:`statekeeper.runtime.life` says how the log is read).  Read-only, like ``statekeeper
instances``: no client, no engine, no migration.
"""

from __future__ import annotations

import argparse
import json
import time

from statekeeper.runtime.life import Step, time_in_states, walk
from statekeeper.storage.records import TransitionRecord

from .._common import (
    CommandError,
    Subparsers,
    add_db_argument,
    int_argument,
    read_store,
    text_argument,
)
from .._table import duration, moment, table

__all__ = ["register", "run"]


def register(subparsers: Subparsers) -> None:
    """Add the ``history`` command."""
    parser = subparsers.add_parser(
        "history", help="an instance's life: its steps and its time in each state",
        description="Every step of one instance, oldest first: applied, ignored and rejected "
                    "events, who sent them and why, how long the instance had been in the "
                    "states each step left; then the time spent in each state. Times are UTC.",
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
    """Read the log and print it as a table, then the time spent in each state."""
    if args.limit is not None and args.limit < 1:
        raise CommandError("--limit must be at least 1")
    if args.after < 0:
        raise CommandError("--after must be 0 or more (a seq)")
    with read_store(str(args.db)) as store:
        rows = store.history(args.instance, limit=args.limit, after=args.after)
        record = store.load(args.instance)
    steps = walk(rows)
    if args.json:
        for step in steps:
            print(json.dumps({**_as_dict(step.row), "in_source": step.in_source},
                             ensure_ascii=False))
        return 0
    print(f"{record.id}: chart {record.chart} v{record.version}, {record.status}, in "
          f"{' '.join(record.configuration) or '-'} (rev {record.rev})")
    for line in table(("SEQ", "AT (UTC)", "EVENT", "OUTCOME", "FROM", "TO", "IN SOURCE",
                       "ACTOR", "REASON"), [_cells(step) for step in steps]):
        print(line)
    print(f"{len(rows)} row(s)")
    whole = args.limit is None or len(rows) < args.limit
    current = set(record.configuration) if record.status == "active" and whole else set()
    now = time.time() if current else None
    spent = time_in_states(rows, now)
    if spent:
        print()
        print("time in each state" + ("" if args.after == 0 and whole else
                                      " (over the rows shown)"))
        for line in table(("STATE", "TIME", ""), [
                (state, duration(seconds), "(current, to now)" if state in current else "")
                for state, seconds in spent.items()]):
            print(line)
    return 0


def _cells(step: Step) -> tuple[str, ...]:
    row = step.row
    return (str(row.seq), moment(row.at), row.event, row.outcome,
            " ".join(row.source) or "(start)", " ".join(row.target),
            duration(step.in_source), row.actor or "-", row.reason or "")


def _as_dict(row: TransitionRecord) -> dict[str, object]:
    return {"seq": row.seq, "event": row.event, "outcome": row.outcome,
            "source": list(row.source), "target": list(row.target), "at": row.at,
            "data": row.data, "actor": row.actor, "trace_id": row.trace_id,
            "reason": row.reason, "idempotency_key": row.idempotency_key,
            "chart_version": row.chart_version}
