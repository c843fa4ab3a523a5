"""One module per command.

Each command module has ``register(subparsers)``, which adds its parser and sets
``run(args) -> int`` as the parser's default, so ``main`` needs no table of its own.
"""

from . import (
    audit,
    check,
    dead_letters,
    diagram,
    history,
    instances,
    migrate,
    send,
    shadow_report,
    validate,
    version,
    worker,
)

__all__ = ["COMMANDS"]

#: The command modules, in the order ``statekeeper --help`` lists them.
COMMANDS = (validate, diagram, instances, history, audit, send, dead_letters, check, worker,
            migrate, shadow_report, version)
