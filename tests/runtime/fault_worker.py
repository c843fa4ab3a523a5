"""A client process for the fault tests: it may be killed at any moment.

Usage: ``python fault_worker.py STORE CALLS [--drain] [--no-worker]``.  ``STORE`` is a store
URL, or a SQLite file's path.

It runs a :class:`~statekeeper.Client` on ``STORE``, with its background worker (the SQLite
test) or, with ``--no-worker``, without (the PostgreSQL test, where ``statekeeper worker``
processes run effects and timers).  Commands arrive on stdin, one a line: ``start ID`` or
``send ID EVENT KEY``; each is answered on stdout, once committed, with ``ack ID KEY OUTCOME``
(``ack ID start`` for a start; an instance that already exists counts as started); with ``retry ID
KEY ERROR`` when the store was unavailable (a named :class:`StoreUnavailable`: the driver
sends it again); with ``error ID KEY ERROR`` for anything else.  The chart and the ``charge``
effect are in ``fault_chart.py``.
"""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import Future

from fault_chart import JOB, charge_into

from statekeeper.client import Client
from statekeeper.core.events import Event
from statekeeper.runtime.requests import DeliverEvent, StartInstance
from statekeeper.runtime.state import InstanceState
from statekeeper.storage.base import InstanceExists, StoreUnavailable


def main(argv: list[str]) -> int:
    store, calls_path = argv[0], argv[1]
    drain = "--drain" in argv
    url = store if "://" in store else f"sqlite:///{store}"

    out_lock = threading.Lock()

    def answer(line: str) -> None:
        with out_lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    client = Client(url, lease=1.0, concurrency=4, worker="--no-worker" not in argv)
    client.register(JOB, effects={"charge": charge_into(calls_path)},
                    functions={"inc": lambda data, event: data["n"] + 1})
    answer("ready")

    def acked(instance: str, key: str, future: Future[InstanceState]) -> None:
        exc = future.exception()
        if exc is None:
            answer(f"ack {instance} {key} {future.result().outcome}")
        elif isinstance(exc, InstanceExists):
            answer(f"ack {instance} {key} exists")
        else:
            kind = "retry" if isinstance(exc, StoreUnavailable) else "error"
            text = " ".join(str(exc).split())
            answer(f"{kind} {instance} {key} {type(exc).__module__}.{type(exc).__name__}: "
                   f"{text}")

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
