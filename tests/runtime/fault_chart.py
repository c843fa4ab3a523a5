"""The chart and effect of the fault tests (``test_faults.py``, ``test_pg_faults.py``).

Shared by the processes those tests kill: ``fault_worker.py`` (a client, with or without its
own worker) and ``statekeeper worker --module fault_chart`` (this module's ``register``).

The ``charge`` effect appends its idempotency key to a file before it does anything, so the
test can tell every call and under which key, and fails on about one attempt in three,
decided by the key.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from typing import Any

from statekeeper import Assign, Chart, Effect, Final, Parallel, State, Transition
from statekeeper.client import Client

__all__ = ["CALLS_ENV", "JOB", "TICKS", "charge_into", "fails", "register"]

#: ticks sent to each instance before its ``finish``
TICKS = 24
#: the environment variable naming the calls file, for ``statekeeper worker``
CALLS_ENV = "STATEKEEPER_FAULT_CALLS"

JOB = Chart("job", version=1, initial="main", data={"n": 0}, states={
    "main": Parallel(states={
        "work": State(initial="counting", states={
            "counting": State(on={"tick": Transition(actions=[Assign("n", "inc")]),
                                  "finish": "wrapping"}),
            "wrapping": State(after={"60ms": "charging"}),
            "charging": State(entry=[Effect("charge")],
                              on={"done.effect.charge": "charged",
                                  "error.effect.charge": "wrapping"}),
            "charged": Final(),
        }),
        "beat": State(initial="b0", states={
            "b0": State(after={"50ms": "b1"}),
            "b1": State(after={"120ms": "b2"}),
            "b2": State(after={"200ms": "b3"}),
            "b3": Final(),
        }),
    }, on={"done.state.main": "end"}),
    "end": Final(),
})


def fails(key: str) -> bool:
    """Whether the attempt of ``key`` fails: about one run in three, decided by the key."""
    return hashlib.sha256(key.encode()).digest()[0] % 3 == 0


def charge_into(calls_path: str) -> Callable[[Any, str], str]:
    """The ``charge`` effect, recording each call's key in ``calls_path`` first."""
    calls = os.open(calls_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def charge(args: Any, key: str) -> str:
        os.write(calls, f"{key}\n".encode())
        time.sleep(0.002)  # a window for a kill between the call and its outcome's commit
        if fails(key):
            raise ConnectionError(f"card API down for {key}")
        return key

    return charge


def register(client: Client) -> None:
    """For ``statekeeper worker --module fault_chart``: the calls file comes from CALLS_ENV."""
    client.register(JOB, effects={"charge": charge_into(os.environ[CALLS_ENV])},
                    functions={"inc": lambda data, event: data["n"] + 1})
