"""``statekeeper diagram FILE``: draw a chart file as Mermaid or Graphviz DOT text.

Drawing reads the chart's structure only; no guard or expression is bound or evaluated, so
any chart file can be drawn without its Python code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from statekeeper.io.diagram import to_dot, to_mermaid

from .._common import CommandError, Subparsers, UsageError, add_chart_arguments, load, regular_file

__all__ = ["register", "run"]

_FORMATS = {"mermaid": to_mermaid, "dot": to_dot}
_SUFFIX_FORMATS = {".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".mermaid": "mermaid"}


def register(subparsers: Subparsers) -> None:
    """Add the ``diagram`` command."""
    parser = subparsers.add_parser(
        "diagram", help="draw a chart as a Mermaid or Graphviz DOT diagram",
        description="Draw a chart file as Mermaid stateDiagram-v2 or Graphviz DOT text.",
    )
    add_chart_arguments(parser)
    parser.add_argument(
        "--format", choices=sorted(_FORMATS), default=None,
        help="the diagram language (default: from the --output suffix .dot/.gv/.mmd, "
             "else mermaid)",
    )
    parser.add_argument("--output", "-o", metavar="PATH",
                        help="write the diagram to PATH instead of standard output")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load the chart and write its diagram."""
    if args.output:
        _check_output(args.file, args.output)
    chart = load(args.file, trusted=args.trusted, base_dir=args.base_dir)
    fmt = args.format
    if fmt is None and args.output:
        fmt = _SUFFIX_FORMATS.get(Path(args.output).suffix.lower())
    text = _FORMATS[fmt or "mermaid"](chart)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"{args.output}: cannot write the diagram: "
                               f"{exc.strerror or exc}") from None
    else:
        sys.stdout.write(text)
    return 0


def _check_output(source: str, output: str) -> None:
    """Refuse an output that is the chart being read, by any path, or that is not a file.

    ``-o chart.yaml`` would replace the chart with its diagram; a symlink, a hard link or
    another spelling of the same path is the same file, so files are compared by device
    and inode, not by name.
    """
    written = regular_file(output, "output")
    read = regular_file(source, "chart")
    if written is not None and read is not None and (
            (written.st_dev, written.st_ino) == (read.st_dev, read.st_ino)):
        raise UsageError(f"{output}: is the chart being read ({source}); writing the diagram "
                         f"there would replace the chart: choose another --output "
                         f"(say {Path(source).with_suffix('.mmd').name})")
