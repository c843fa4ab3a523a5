"""``python -m statekeeper.bench <command>``: one entry point, one module per benchmark.

Each command lives in its own module exposing ``add_arguments(parser)``, ``run(args)`` and
optionally a plain-text ``DESCRIPTION`` for ``--help``; this file only routes.  Adding a
benchmark means adding a module and a line to ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["COMMANDS", "build_parser", "main"]

#: command -> (module under statekeeper.bench, one-line help).
COMMANDS: dict[str, tuple[str, str]] = {
    "dispatch": ("dispatch", "in-process dispatch speed vs peer statechart libraries"),
    "durable": ("durable", "durable transitions/s on SQLite (FULL) vs xstate-statemachine and DBOS"),
    "wide": ("wide", "one event into N parallel regions (start, all regions, one region) vs peers"),
    "timers": ("timers", "lateness of 100,000 pending durable timers due 5,000/s on SQLite"),
    "postgres": ("postgres", "transitions/s on PostgreSQL with 1-4 client processes vs DBOS"),
    "migrate": ("migrate", "batch migrations/s of live instances beside plain transitions/s"),
    "features": ("features", "cost of logs, metrics, authorization and tracing on durable tx/s"),
    "tracing": ("tracing", "CPU per durable step with OpenTelemetry spans off, on and sampled"),
}


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser, with one subparser per command."""
    parser = argparse.ArgumentParser(prog="python -m statekeeper.bench", description="statekeeper benchmarks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(f"statekeeper.bench.{module_name}")
        command = sub.add_parser(name, help=help_text, description=getattr(module, "DESCRIPTION", None))
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; return the exit status."""
    args = build_parser().parse_args(argv)
    status: int = args._run(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
