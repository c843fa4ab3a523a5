"""Parse the command line and run one command.

Exit status: 0 when the command succeeded, 1 when it failed (a missing file, an invalid
chart: a message on stderr, no traceback), 2 for a usage error (argparse's convention).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from statekeeper import __version__
from statekeeper.core.errors import StatekeeperError

from ._common import CommandError
from .commands import COMMANDS

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    """The ``statekeeper`` argument parser, with one subcommand per command module."""
    parser = argparse.ArgumentParser(
        prog="statekeeper",
        description="Work with statekeeper charts and stores: validate and draw charts, "
                    "find instances and read their history, inspect and replay dead letters, "
                    "check a store's integrity.",
    )
    parser.add_argument("--version", action="version", version=f"statekeeper {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.run(args))
    except CommandError as exc:
        _error(str(exc))
        return exc.exit_status
    except StatekeeperError as exc:
        _error(str(exc))
    except BrokenPipeError:
        # The reader went away (``statekeeper diagram x.yaml | head``): not an error to
        # report, and stdout must not be flushed again at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        _error(f"{where}{exc.strerror or exc}")
    except KeyboardInterrupt:
        return 130
    return EXIT_FAILED


def _error(message: str) -> None:
    print(f"statekeeper: error: {message}", file=sys.stderr)
