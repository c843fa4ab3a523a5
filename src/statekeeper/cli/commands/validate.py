"""``statekeeper validate FILE``: check that a chart file compiles, without its Python code.

A chart names its guards and functions; the code that provides them is not in the file.  So
this command binds a placeholder to every name the chart uses (placeholders are never
called: nothing runs), compiles the chart, and lists the names the application must bind.
Everything else is checked as ``compile_chart`` checks it: targets, initials, history
defaults, durations, and the shape warnings (unreachable states, states with no way out),
which ``--strict`` turns into errors for CI.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Iterable

from statekeeper.core.errors import ChartError, ChartWarning
from statekeeper.io.names import referenced_names

from .._common import (
    CommandError,
    Subparsers,
    add_chart_arguments,
    compile_file_chart,
    load,
    trust_hint,
)

__all__ = ["register", "run"]


def register(subparsers: Subparsers) -> None:
    """Add the ``validate`` command."""
    parser = subparsers.add_parser(
        "validate", help="check that a chart file is valid",
        description="Compile a chart file and report its errors and warnings. Exit status: "
                    "0 valid, 1 invalid, 2 usage error.",
    )
    add_chart_arguments(parser)
    parser.add_argument("--strict", action="store_true",
                        help="treat warnings (unreachable states, traps) as errors")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Compile the chart with placeholders bound; print OK and what to bind, or the problem."""
    chart = load(args.file, trusted=args.trusted, base_dir=args.base_dir)
    names = referenced_names(chart)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ChartWarning)
        try:
            compiled = compile_file_chart(chart, trusted=args.trusted)
        except ChartError as exc:
            raise CommandError(f"{args.file}: {exc}{trust_hint(exc, args.trusted)}") from None
    problems = [str(w.message) for w in caught if issubclass(w.category, ChartWarning)]
    if args.strict and problems:
        details = "".join(f"\n  {problem}" for problem in problems)
        raise CommandError(f"{args.file}: {len(problems)} warning(s), and --strict makes "
                           f"them errors:{details}")
    for problem in problems:
        print(f"warning: {args.file}: {problem}", file=sys.stderr)
    print(f"OK: {args.file}: chart {compiled.name!r} v{compiled.version}, "
          f"{len(compiled.states)} states, structure hash {compiled.hash[:12]}")
    _list("guards to bind", names.guards)
    _list("functions to bind", names.functions)
    _list("effects", compiled.effects)
    return 0


def _list(title: str, names: Iterable[str]) -> None:
    ordered = sorted(names)
    if ordered:
        print(f"  {title}: {', '.join(ordered)}")
