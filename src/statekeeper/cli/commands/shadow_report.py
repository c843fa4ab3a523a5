"""``statekeeper shadow-report``: the divergence table of a chart's shadows, from the store.

A shadow (``client.shadow(chart, from_version, to_version)``) steps every event callers send
to the old version on the new one too, in each process that registered it; the comparison of
every committed step is kept in the store's shadow log.  This prints the table of every
process's comparisons, per pair of versions, state and event (compared, diverged, by kind),
then the latest divergences with their instance ids.  Read-only, like ``statekeeper
history``: no client, no engine, no migration (a store whose schema predates the shadow log
is refused, saying so); ``--clear`` forgets the chart's comparisons instead.

Exit status: 0 no divergence; 1 some comparison diverged; 2 usage error.
"""

from __future__ import annotations

import argparse
import json

from .._common import CommandError, Subparsers, add_db_argument, int_argument, read_store

__all__ = ["register", "run"]


def register(subparsers: Subparsers) -> None:
    """Add the ``shadow-report`` command."""
    parser = subparsers.add_parser(
        "shadow-report", help="the divergence table of a chart's shadows, from the store",
        description="What every process's shadows of CHART compared: per pair of versions, "
                    "state and event, the events compared and diverged by kind, then the "
                    "latest divergences with their instance ids. Exit status 0 (none "
                    "diverged) or 1.")
    parser.add_argument("chart", metavar="CHART", help="the chart's name")
    add_db_argument(parser)
    parser.add_argument("--latest", type=int_argument, default=10, metavar="N",
                        help="list the latest N divergences with their instances (10)")
    parser.add_argument("--json", action="store_true",
                        help="one JSON object per pair of versions, state and event")
    parser.add_argument("--clear", action="store_true",
                        help="forget the chart's stored comparisons (a shadow over)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Read the chart's shadow log and print the table (or clear it)."""
    from statekeeper.runtime.shadow_log import stored_report, tally

    if args.latest < 0:
        raise CommandError("--latest must be 0 or more")
    with read_store(str(args.db)) as store:
        if args.clear:
            print(f"{store.delete_shadow_records(args.chart)} comparison(s) of "
                  f"{args.chart!r} forgotten")
            return 0
        pairs, _ = tally(store, args.chart, 0)
        if args.json:
            for (source, target), (compared, events, kinds) in sorted(pairs.items()):
                for (state, event), count in sorted(compared.items()):
                    print(json.dumps({
                        "from_version": source, "to_version": target, "state": state,
                        "event": event, "compared": count,
                        "diverged": events[(state, event)],
                        "kinds": dict(sorted(kinds.get((state, event), {}).items()))}))
        else:
            print(stored_report(store, args.chart, latest=args.latest))
    return 1 if any(events for _, events, _ in pairs.values()) else 0
