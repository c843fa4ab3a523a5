"""The application of the ``statekeeper dead-letters replay`` authorization tests (``--module``).

``STAMP``'s timer stamps the time into the data; ``broken_stamp`` returns a ``datetime``,
which cannot be stored, so the timer's event becomes a dead letter (the test writes it with
a client of its own).  ``register(client)`` is the fixed application: the stamp a string,
and a policy under which only ``ops`` may send the timer's event.
"""

from __future__ import annotations

import datetime
from typing import Any

from statekeeper import Chart, Final, State, Transition
from statekeeper.core.actions import Assign
from statekeeper.runtime.authz import Policy

STAMP = Chart("stamp", version=1, initial="idle", states={
    "idle": State(on={"go": "waiting"}),
    "waiting": State(after={"1s": Transition("done", actions=[Assign("at", expr="stamp")])}),
    "done": Final(),
}, data={"at": None})


def broken_stamp(data: Any, event: Any) -> datetime.datetime:
    return datetime.datetime(2026, 1, 1)


def register(client: Any) -> None:
    client.register(STAMP, functions={"stamp": lambda data, event: "2026-01-01"})
    waiting = client.registry.latest("stamp").chart.nodes["waiting"]
    (timer_event,) = {e for t in waiting.transitions for e in t.events}
    client.authorize("stamp", Policy(events={timer_event: {"ops"}}))
