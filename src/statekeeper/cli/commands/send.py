"""``statekeeper send``: deliver one event to an instance, through the application's checks.

Why a command: an operator or a script sometimes has to push an instance on (a courier who
called in, a refund support approved) without writing a program.  The event must pass what
the application's own calls pass: it is stepped by the application's chart and checked
against its authorization policy, so both are loaded from the application (``--module
pkg.mod``, as ``statekeeper worker`` loads it), and the caller is ``--principal NAME`` with
``--role`` options.  The effects the step starts are left to the workers, as a send from the
application leaves them.

Exit status: 0 the event was applied (or was a duplicate of an idempotency key); 1 it was
refused (``NotAuthorized``, ``EventNotAccepted``, an unknown instance, a finished one: the
message says which, and the refusal is in the instance's log); 2 usage error.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from .._app import add_app_arguments, add_principal_arguments, bind_app, principal_from
from .._common import Subparsers, UsageError, database_path, text_argument

__all__ = ["register", "run"]


def register(subparsers: Subparsers) -> None:
    """Add the ``send`` command."""
    parser = subparsers.add_parser(
        "send", help="deliver an event to an instance, through the application's checks",
        description="Deliver EVENT to instance ID as the application would: stepped by its "
                    "chart and checked against its authorization policy, both from --module. "
                    "Prints the state it settles in; exit status 1 when it is refused "
                    "(not authorized, not accepted in its state).")
    parser.add_argument("--db", required=True, metavar="STORE",
                        help="the store: a SQLite file, sqlite:///path or postgresql://...")
    parser.add_argument("instance", type=text_argument, metavar="ID", help="the instance id")
    parser.add_argument("event", type=text_argument, metavar="EVENT", help="the event name")
    parser.add_argument("--data", default=None, metavar="JSON",
                        help="the event's data, as JSON (an object, say '{\"courier\": \"ana\"}')")
    parser.add_argument("--idempotency-key", type=text_argument, default=None, metavar="KEY",
                        help="send it at most once under this key (a repeat prints the first "
                             "result)")
    parser.add_argument("--json", action="store_true", help="print the state as JSON")
    add_app_arguments(parser, required=True)
    add_principal_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load the application, send the event, print the state it settled in."""
    from statekeeper.client import Client

    data = _data(args.data)
    principal = principal_from(args)
    with Client(database_path(str(args.db)), worker=False) as client:
        bind_app(client, args)
        state = client.send(args.instance, args.event, data, principal=principal,
                            idempotency_key=args.idempotency_key)
    if args.json:
        print(json.dumps(state.to_dict()))
    else:
        print(f"{state.id}: {state.state} ({state.status}, rev {state.rev}, outcome "
              f"{state.outcome}) after {args.event!r} from "
              f"{principal.id if principal is not None else 'an anonymous caller'}")
    return 0


def _data(text: str | None) -> Any:
    """``--data`` as a value, or a usage error saying what is wrong with it."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--data is not JSON ({exc.msg} at character {exc.pos}): "
                         f"{text[:40]!r}") from None
