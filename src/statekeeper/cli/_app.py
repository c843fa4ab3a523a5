"""The application and the caller of the commands that deliver events (``send``, a replay).

Why: an event is stepped by its chart, and checked against the chart's authorization policy;
both are the application's, in Python.  So these commands load the application the way
``statekeeper worker`` and ``migrate`` do: ``--module pkg.mod`` (imported as ``python -m``
would), whose ``register(client)`` registers the charts and authorizes them
(``client.authorize(...)``), or whose ``EFFECTS``/``GUARDS``/``FUNCTIONS`` mappings bind
``--chart`` files.  The caller is ``--principal NAME`` with its ``--role`` and
``--attribute`` options: the same :class:`~statekeeper.runtime.authz.Principal` a client
takes, so the command line passes the same checks as the application's own calls.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ._common import CommandError, UsageError, add_trust_arguments, load, text_argument

if TYPE_CHECKING:
    from statekeeper.client import Client
    from statekeeper.runtime.authz import Principal

__all__ = ["add_app_arguments", "add_principal_arguments", "bind_app", "principal_from"]


def add_app_arguments(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """Add ``--module`` and ``--chart``: the application's charts, behaviour and policies."""
    parser.add_argument("--module", action="append", default=[], metavar="PKG.MOD",
                        help="the application: a module defining register(client), which "
                             "registers its charts and authorizes them, or EFFECTS/GUARDS/"
                             "FUNCTIONS for the --chart files (repeat for several)"
                             + ("" if required else "; needed to replay an event"))
    parser.add_argument("--chart", action="append", default=[], metavar="FILE",
                        help="a chart file, bound by name to what the modules define")
    add_trust_arguments(parser)
    parser.set_defaults(app_required=required)


def add_principal_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--principal``, ``--role`` and ``--attribute``: who the command acts as."""
    parser.add_argument("--principal", type=text_argument, default=None, metavar="NAME",
                        help="who sends the event, checked against the chart's policy and "
                             "written to the log as the actor (default: nobody, which a "
                             "policy refuses)")
    parser.add_argument("--role", action="append", default=[], type=text_argument,
                        metavar="ROLE", help="a role of the principal (repeat for several)")
    parser.add_argument("--attribute", action="append", default=[], type=text_argument,
                        metavar="KEY=VALUE",
                        help="an attribute of the principal, for the policy's guards "
                             "(repeat for several)")


def principal_from(args: argparse.Namespace) -> Principal | None:
    """The principal the options name, or ``None`` (no ``--principal``).

    Raises:
        UsageError: ``--role`` or ``--attribute`` without ``--principal``, or an attribute
            that is not ``KEY=VALUE``.
        CommandError: a principal the runtime refuses (an empty name, say).

    """
    from statekeeper.runtime.authz import InvalidPrincipal, Principal

    if args.principal is None:
        if args.role or args.attribute:
            raise UsageError("--role and --attribute describe a --principal NAME: give one")
        return None
    attributes: dict[str, Any] = {}
    for pair in args.attribute:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--attribute takes KEY=VALUE, not {pair!r}")
        attributes[key] = value
    try:
        return Principal(args.principal, frozenset(args.role), attributes)
    except InvalidPrincipal as exc:
        raise CommandError(f"--principal: {exc}") from None


def bind_app(client: Client, args: argparse.Namespace) -> list[str]:
    """Import ``--module``s, register their charts and the ``--chart`` files; the chart names.

    Raises:
        CommandError: a module that does not import or whose ``register(client)`` fails, a
            chart that does not load or bind; or no application when one is required.

    """
    from .commands.worker import _bind, _import

    if args.app_required and not args.module and not args.chart:
        raise CommandError("give the application: --module PKG.MOD (its register(client) "
                           "registers the charts and their policies) and/or --chart FILE")
    modules = [_import(name) for name in args.module]
    charts = [(path, load(path, trusted=args.trusted, base_dir=args.base_dir))
              for path in args.chart]
    return _bind(client, modules, charts)
