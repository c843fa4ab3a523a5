"""The peers' jobs of ``bench postgres``, run in processes by :func:`.postgres_procs.run_processes`.

Split from :mod:`.postgres_procs` (at its size limit).  Module-level functions, so ``spawn``
can find them:

* :func:`dbos_job`: DBOS on the same server, a three-step workflow per call, ``senders``
  threads; counted in steps.
* :func:`bare_job`: plain psycopg, ``senders`` threads each with its own connection, one
  autocommitted single-row ``INSERT`` after another: what the server commits by itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from .durable_peers import launch_dbos_order
from .postgres_procs import BARE_ROW, Report, timed

__all__ = ["bare_job", "dbos_job", "dbos_prepare"]



def _dbos_launch(url: str, schema: str) -> Any:
    return launch_dbos_order({"system_database_url": url, "dbos_system_schema": schema})


def dbos_prepare(url: str, schema: str) -> None:
    """Launch DBOS once so its system tables exist before several processes launch it."""
    from dbos import DBOS

    _dbos_launch(url, schema)
    DBOS.destroy(destroy_registry=True)


def _threads(senders: int, seconds: float, one: Callable[[int], int],
             sync: Any) -> dict[str, Any]:
    """``senders`` threads call ``one(k)`` until the deadline; the parent's barriers between."""
    counts = [0] * senders
    barrier = threading.Barrier(senders + 1)
    deadline = [0.0]
    errors: list[BaseException] = []

    def run(j: int) -> None:
        barrier.wait()
        k = j
        try:
            while time.perf_counter() < deadline[0]:
                counts[j] += one(k)
                k += senders
        except BaseException as exc:  # noqa: BLE001 - re-raised by the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(j,), daemon=True) for j in range(senders)]
    for thread in threads:
        thread.start()
    timed(sync)
    cpu, start = time.process_time(), time.perf_counter()
    deadline[0] = start + seconds
    barrier.wait()
    for thread in threads:
        thread.join()
    end = time.perf_counter()
    if errors:
        raise errors[0]
    return {"units": sum(counts), "start": start, "end": end, "cpu": time.process_time() - cpu}


def dbos_job(*, sync: Any, report: Report, url: str, schema: str, senders: int,
             seconds: float, warmup: int) -> None:
    """DBOS steps per second: a three-step workflow per call, ``senders`` threads."""
    from dbos import DBOS

    workflow = _dbos_launch(url, schema)
    try:
        def one(k: int) -> int:
            if workflow(k) != (k + 1) * 2 - 1:
                raise RuntimeError(f"DBOS: workflow {k} returned a wrong result")
            return 3

        for k in range(warmup):
            one(k)
        report(_threads(senders, seconds, one, sync))
    finally:
        DBOS.destroy(destroy_registry=True)


def bare_job(*, sync: Any, report: Report, url: str, table: str, senders: int,
             seconds: float) -> None:
    """Single-row autocommitted ``INSERT`` s, ``senders`` threads with a connection each."""
    import psycopg

    conns = [psycopg.connect(url, autocommit=True) for _ in range(senders)]
    try:
        statement = f"INSERT INTO {table} (body) VALUES (%s)"

        def one(k: int) -> int:  # thread j calls with k = j, j + senders, ...: connection j
            conns[k % senders].execute(statement, (BARE_ROW,))
            return 1

        report(_threads(senders, seconds, one, sync))
    finally:
        for conn in conns:
            conn.close()
