"""``statekeeper migrate``: move a chart's live instances to another version.

A migration's data map is Python, so the charts and migrations come from modules
(``--module pkg.mod``, imported as ``python -m`` would): each defines ``register(client)``,
which registers the chart versions and their :class:`~statekeeper.Migration` objects
(``client.register(...)``, ``client.register_migration(...)``).

Without ``--apply`` it is a dry run: every live instance is read and reported (its target
configuration and data diff; the ones that cannot be mapped), nothing is written.  With
``--apply`` it writes at most ``--batch`` instances per transaction, printing progress on
stderr; killed, it is run again and picks up the instances still to move, none twice.

Lazy migration (each instance migrated right before its next event) has no flag here: it is
turned on in every process that delivers events, the application's and ``statekeeper worker``'s,
by ``client.migrate(chart, version, dry_run=False, lazy=True)`` in the module's
``register(client)`` (``docs/versioning.md``); a process that exits at once would turn it on
for nothing.

Exit status: 0 every instance was (or would be) migrated; 1 some cannot be (listed), or the
migration is refused (an unregistered version, no chain of migrations); 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from .._common import CommandError, Subparsers, database_path, text_argument
from .worker import _count, _import

if TYPE_CHECKING:
    from statekeeper.runtime.migrate import InstanceMigration, MigrationRun

__all__ = ["register", "run"]


def register(subparsers: Subparsers) -> None:
    """Add the ``migrate`` command."""
    parser = subparsers.add_parser(
        "migrate", help="move a chart's live instances to another version (dry run first)",
        description="Report (a dry run, the default) or carry out (--apply) the migration of "
                    "every live instance of CHART to --to VERSION, through the migrations "
                    "the --module files register. Exit status 0 (all migrated), 1 (some "
                    "cannot be, listed; or refused). Lazy migration is turned on in each "
                    "process that delivers events instead: client.migrate(..., dry_run=False, "
                    "lazy=True) in the module's register(client).")
    parser.add_argument("chart", type=text_argument, metavar="CHART", help="the chart's name")
    parser.add_argument("--to", required=True, type=text_argument, metavar="VERSION",
                        help="the version to move the instances to")
    parser.add_argument("--db", required=True, metavar="STORE",
                        help="the store: a SQLite file, sqlite:///path or postgresql://...")
    parser.add_argument("--module", action="append", default=[], metavar="PKG.MOD",
                        required=True,
                        help="a module defining register(client), which registers the chart "
                             "versions and migrations (repeat for several)")
    parser.add_argument("--apply", action="store_true",
                        help="write the migration (without it: a dry run, nothing written)")
    parser.add_argument("--batch", type=_count, default=500, metavar="N",
                        help="instances written per transaction (default 500)")
    parser.add_argument("--actor", type=text_argument, default=None, metavar="NAME",
                        help="who migrates, recorded in each instance's transition log")
    parser.add_argument("--json", action="store_true",
                        help="one JSON object per instance instead of text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Register the modules' charts and migrations, then migrate (or report)."""
    from statekeeper.client import Client

    url = database_path(str(args.db))
    modules = [_import(name) for name in args.module]
    with Client(url, worker=False) as client:
        for module in modules:
            hook = getattr(module, "register", None)
            if not callable(hook):
                raise CommandError(f"--module {module.__name__}: defines no register(client) "
                                   f"to register the chart versions and migrations")
            hook(client)
        version: int | str = int(args.to) if args.to.isdigit() else args.to
        result = client.migrate(args.chart, version, dry_run=not args.apply, batch=args.batch,
                                actor=args.actor, progress=_progress if args.apply else None)
    _print(result, as_json=args.json)
    return 1 if result.failed else 0


def _progress(done: int, total: int) -> None:
    width = 30
    filled = width * done // total if total else width
    print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} instances",
          end="\n" if done >= total else "", file=sys.stderr, flush=True)


def _fields(item: InstanceMigration) -> dict[str, Any]:
    return {"instance": item.instance, "status": item.status,
            "from_version": item.from_version, "to_version": item.to_version,
            "source": list(item.source), "target": list(item.target),
            "data_diff": item.data_diff, "timers_set": list(item.timers_set),
            "timers_cancelled": list(item.timers_cancelled), "error": item.error}


def _line(item: InstanceMigration) -> str:
    head = f"{item.instance}  v{item.from_version} -> v{item.to_version}  {item.status}"
    if item.error is not None:
        return f"{head}: {item.error}"
    diff = item.data_diff
    data = " ".join([*(f"+{k}" for k in diff.get("added", {})),
                     *(f"-{k}" for k in diff.get("removed", {})),
                     *(f"~{k}" for k in diff.get("changed", {}))]) or "unchanged"
    return (f"{head}  [{', '.join(item.source)}] -> [{', '.join(item.target)}]  "
            f"data: {data}")


def _print(result: MigrationRun, *, as_json: bool) -> None:
    for item in result.instances:
        print(json.dumps(_fields(item)) if as_json else _line(item))
    if as_json:
        return
    verb = "would migrate" if result.dry_run else "migrated"
    moved = sum(1 for i in result.instances if i.status != "failed")
    print(f"{moved} instance(s) {verb} to v{result.to_version}, {len(result.failed)} cannot "
          f"be" + ("" if result.dry_run else f", in {result.transactions} transaction(s)"))
    for row in result.corrupted:
        print(f"corrupted row {row.key}: {row.problem}", file=sys.stderr)
