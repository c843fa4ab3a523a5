"""The ``statekeeper`` command line: thin commands over the public API.

Each command is a module in :mod:`statekeeper.cli.commands`; ``main`` only parses arguments
and turns the library's errors into a message and an exit status.
"""

from .main import main

__all__ = ["main"]
