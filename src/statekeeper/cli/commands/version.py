"""``statekeeper version``: print the installed version (for bug reports and scripts)."""

from __future__ import annotations

import argparse
import platform

from statekeeper import __version__

from .._common import Subparsers

__all__ = ["register", "run"]


def register(subparsers: Subparsers) -> None:
    """Add the ``version`` command."""
    parser = subparsers.add_parser("version", help="print the statekeeper version",
                                   description="Print the statekeeper and Python versions.")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print ``statekeeper <version> (Python <version>)``."""
    print(f"statekeeper {__version__} (Python {platform.python_version()})")
    return 0
