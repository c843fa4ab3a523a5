"""A worker process for the fault test (``test_faults.py``): it may be killed at any moment.

Usage: ``python fault_worker.py DB CALLS`` (``--drain`` to run until every instance is done).

It runs a :class:`~statekeeper.Client` with the background worker on the SQLite file ``DB``.
Commands arrive on stdin, one a line: ``start ID`` or ``send ID EVENT KEY``; each is answered
on stdout, once committed, with ``ack ID KEY`` (``ack ID start`` for a start; an instance that
already exists counts as started).  The ``charge`` effect appends its idempotency key to
``CALLS`` before it does anything, and fails on some attempts.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from concurrent.futures import Future
from typing import Any

from statekeeper import Assign, Chart, Effect, Final, Parallel, State, Transition
from statekeeper.client import Client
from statekeeper.core.events import Event
from statekeeper.runtime.requests import DeliverEvent, StartInstance
from statekeeper.runtime.state import InstanceState
from statekeeper.storage.base import InstanceExists

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


def main(argv: list[str]) -> int:
    db, calls_path = argv[0], argv[1]
    drain = "--drain" in argv
    calls = os.open(calls_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def charge(args: Any, key: str) -> str:
        os.write(calls, f"{key}\n".encode())
        time.sleep(0.002)  # a window for a kill between the call and its outcome's commit
        if fails(key):
            raise ConnectionError(f"card API down for {key}")
        return key

    out_lock = threading.Lock()

    def answer(line: str) -> None:
        with out_lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    client = Client(f"sqlite:///{db}", lease=1.0, concurrency=4)
    client.register(JOB, effects={"charge": charge},
                    functions={"inc": lambda data, event: data["n"] + 1})
    answer("ready")

    def acked(instance: str, key: str, future: Future[InstanceState]) -> None:
        exc = future.exception()
        if exc is None or isinstance(exc, InstanceExists):
            answer(f"ack {instance} {key}")
        else:
            answer(f"error {instance} {key} {type(exc).__name__}: {exc}")

    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "start":
            future = client.engine.submit(StartInstance("job", parts[1]))
            future.add_done_callback(lambda f, i=parts[1]: acked(i, "start", f))
        elif parts[0] == "send":
            instance, event, key = parts[1:4]
            future = client.engine.submit(DeliverEvent(instance, Event(event), True, key))
            future.add_done_callback(lambda f, i=instance, k=key: acked(i, k, f))
        elif parts[0] == "drain":
            break
    if drain:
        while client.store.query(status="active", limit=1):
            time.sleep(0.05)
        while any(client.store.effects(status=s) for s in ("pending", "running")):
            time.sleep(0.05)
        client.close()
        answer("drained")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
