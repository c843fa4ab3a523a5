"""``statekeeper dead-letters``: list, show, replay or discard what exhausted its policy.

Works on the database directly (no chart code is needed): replaying an effect reopens its
outbox row, and the next worker with the chart registered runs it with its original
idempotency key.  Replay and discard are written to the instance's transition log with
``--actor`` (default: the login name), in the same commit that changes the letter.

Replaying an *event* delivers it: its chart steps it, and the chart's authorization policy
checks it like any caller's event.  Both are the application's, so an event is replayed only
with the application (``--module pkg.mod``, as ``statekeeper worker`` loads it) and as a
principal (``--principal NAME --role ROLE``, the log's actor); without ``--module`` the
command refuses, rather than deliver an event unchecked.
"""

from __future__ import annotations

import argparse
import getpass
import json
from typing import Any

from statekeeper.storage.records import DeadLetterRecord

from .._app import add_app_arguments, add_principal_arguments, bind_app, principal_from
from .._common import (
    CommandError,
    Subparsers,
    add_db_argument,
    database_path,
    int_argument,
    text_argument,
)

__all__ = ["register", "run"]


def register(subparsers: Subparsers) -> None:
    """Add the ``dead-letters`` command."""
    parser = subparsers.add_parser(
        "dead-letters", help="list, show, replay or discard dead letters",
        description="Effects that exhausted their retry policy and events that could not be "
                    "delivered, kept with their error history.",
    )
    add_db_argument(parser)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="one line per dead letter")
    listing.add_argument("--instance", type=text_argument,
                         help="only this instance's letters")
    listing.add_argument("--json", action="store_true", help="print JSON lines")
    for name, text in (("show", "one letter with its error history"),
                       ("replay", "run the effect again (same idempotency key) or "
                                  "deliver the event again"),
                       ("discard", "drop the letter for good")):
        action = actions.add_parser(name, help=text)
        action.add_argument("letter", type=int_argument, metavar="ID")
        if name != "show":
            action.add_argument("--actor", default=None, type=text_argument,
                                help="who did it, for the log (default: the --principal, or "
                                     "your login name)")
        if name == "replay":
            add_app_arguments(action, required=False)
            add_principal_arguments(action)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Open the store, do the action, print what happened."""
    from statekeeper.client import Client

    principal = principal_from(args) if args.action == "replay" else None
    with Client(database_path(str(args.db)), worker=False) as client:
        if args.action == "list":
            letters = client.dead_letters(args.instance)
            for letter in letters:
                print(json.dumps(_as_dict(letter)) if args.json else _line(letter))
            if not args.json:
                print(f"{len(letters)} dead letter(s)")
            return 0
        letter = client.dead_letter(args.letter)
        if args.action == "show":
            print(json.dumps(_as_dict(letter), indent=2))
            return 0
        if args.action == "replay":
            bind_app(client, args)
            if letter.kind == "event" and not (args.module or args.chart):
                raise CommandError(
                    f"dead letter {args.letter} is an event for {letter.instance!r}: replaying "
                    f"delivers it, which takes its chart and the application's policies; give "
                    f"--module PKG.MOD (the application's register(client)) and --principal "
                    f"NAME --role ROLE")
            actor = args.actor or (principal.id if principal is not None else _login())
            client.replay_dead_letter(args.letter, actor=actor, principal=principal)
            print(f"dead letter {args.letter} replayed by {actor}: {_line(letter)}")
            return 0
        actor = args.actor or _login()
        client.discard_dead_letter(args.letter, actor=actor)
        print(f"dead letter {args.letter} discarded by {actor}: {_line(letter)}")
    return 0


def _line(letter: DeadLetterRecord) -> str:
    what = letter.payload.get("name") if letter.kind == "effect" else \
        letter.payload.get("event", {}).get("name")
    last = letter.errors[-1] if letter.errors else "no error recorded"
    return (f"{letter.id}\t{letter.kind} {what}\t{letter.instance}\t"
            f"{len(letter.errors)} error(s), last: {last}")


def _as_dict(letter: DeadLetterRecord) -> dict[str, Any]:
    return {"id": letter.id, "kind": letter.kind, "instance": letter.instance,
            "key": letter.key, "payload": letter.payload, "errors": letter.errors,
            "at": letter.at}


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"
