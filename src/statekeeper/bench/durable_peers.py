"""The peers of ``bench durable``, each through its own documented durable path on SQLite.

* **xstate-statemachine** (the one Python statechart library with a durable store): its own
  ``persistence.SQLiteStore`` and ``persisted(store, key, machine)`` block, which loads the
  snapshot, runs the block, saves with an optimistic version check and commits.  As shipped
  the store sets ``synchronous=NORMAL`` on every connection (in WAL mode a commit is then not
  on disk until the next checkpoint); :func:`xstate_store` can also force ``FULL``, the level
  statekeeper commits at, by issuing the PRAGMA on each connection the store opens.  Senders
  are threads (its synchronous path), each on its own instances, so none ever conflicts.
* **DBOS** (durable execution): a workflow of three ``@DBOS.step`` functions on a SQLite system
  database, DBOS's defaults otherwise.  Its unit of work is a checkpointed step, so it is
  reported in steps per second (three per workflow).

A peer that is not installed is reported as missing by the caller, never faked.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .durable_statekeeper import instance_ids, synchronous_name, target

__all__ = [
    "DBOS_STEPS",
    "DbosBench",
    "PeerRun",
    "installed_version",
    "launch_dbos_order",
    "run_xstate",
    "xstate_store",
]

#: steps per DBOS workflow.
DBOS_STEPS = 3

_MODULES = {"xstate-statemachine": "xstate_statemachine", "dbos": "dbos"}


def installed_version(distribution: str) -> str | None:
    """The installed version of a peer, or ``None`` when it cannot be imported."""
    if importlib.util.find_spec(_MODULES[distribution]) is None:
        return None
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "?"


@dataclass
class PeerRun:
    """One timed peer run: units (transitions or steps) done by ``senders`` in ``seconds``."""

    senders: int
    units: int
    seconds: float
    synchronous: str = "?"

    @property
    def per_s(self) -> float:
        return self.units / self.seconds if self.seconds > 0 else 0.0


def _spread(senders: int, count: int, work: Callable[[int], int]) -> tuple[int, float]:
    """Run ``work(k)`` for ``k`` in ``range(count)``; ``senders`` threads take every n-th k.

    Returns the summed results of ``work`` and the wall time.
    """
    if senders == 1:
        start = time.perf_counter()
        done = sum(work(k) for k in range(count))
        return done, time.perf_counter() - start

    barrier = threading.Barrier(senders + 1)

    def sender(first: int) -> int:
        barrier.wait()
        return sum(work(k) for k in range(first, count, senders))

    with ThreadPoolExecutor(senders, thread_name_prefix="bench-sender") as pool:
        futures = [pool.submit(sender, j) for j in range(senders)]
        barrier.wait()  # every thread is up: time only the sending
        start = time.perf_counter()
        done = sum(f.result() for f in futures)
        seconds = time.perf_counter() - start
    return done, seconds


# ---------------------------------------------------------------------- xstate-statemachine


def _xstate_config() -> dict[str, Any]:
    return {"id": "toggle", "initial": "off", "states": {
        "off": {"on": {"flip": "on"}},
        "on": {"on": {"flip": "off"}},
    }}  # fmt: skip


def xstate_store(path: Path, *, full: bool) -> Any:
    """xstate-statemachine's own SQLite store; with ``full``, every connection set to FULL."""
    from xstate_statemachine.persistence import SQLiteStore

    if not full:
        return SQLiteStore(str(path))

    class FullSQLiteStore(SQLiteStore):
        """The shipped store, plus ``PRAGMA synchronous = FULL`` on each new connection."""

        def _connect(self) -> Any:
            conn = super()._connect()
            conn.execute("PRAGMA synchronous = FULL")
            return conn

    return FullSQLiteStore(str(path))


def _xstate_synchronous(store: Any) -> str:
    return synchronous_name(store._conn().execute("PRAGMA synchronous").fetchone()[0])


def run_xstate(path: Path, *, full: bool, instances: int, senders: int, events: int, warmup: int) -> PeerRun:
    """Transitions per second through ``persisted()`` blocks, each one ``send("flip")``."""
    from xstate_statemachine import create_machine
    from xstate_statemachine.persistence import persisted

    machine = create_machine(_xstate_config())
    store = xstate_store(path, full=full)
    ids = instance_ids(instances, "x")
    try:
        for key in ids:  # create every instance (its initial snapshot) before timing
            with persisted(store, key, machine):
                pass

        def flip(k: int) -> int:
            key = ids[target(k, instances, senders)]
            with persisted(store, key, machine) as interp:
                before = set(interp.current_state_ids)
                interp.send("flip")
                after = set(interp.current_state_ids)
            # counted only once the block exited, i.e. its save committed
            if before == after:
                raise RuntimeError(f"xstate-statemachine: {key!r} did not move on 'flip'")
            return 1

        _spread(senders, warmup, flip)
        done, seconds = _spread(senders, events, flip)
        return PeerRun(senders, done, seconds, _xstate_synchronous(store))
    finally:
        store.close()


# ---------------------------------------------------------------------- DBOS


def launch_dbos_order(config: dict[str, str]) -> Callable[[int], int]:
    """Configure and launch DBOS with the benchmarks' three-step workflow; return it.

    ``config`` adds the system database (and schema) to the shared name and log level.  The
    same workflow for ``bench durable`` (SQLite) and ``bench postgres``: reserve, charge,
    confirm, each a step.
    """
    from dbos import DBOS

    settings: Any = {"name": "statekeeper-bench", "log_level": "WARNING", **config}
    DBOS(config=settings)  # a DBOSConfig: the keys above and the caller's database

    @DBOS.step()
    def reserve(x: int) -> int:
        return x + 1

    @DBOS.step()
    def charge(x: int) -> int:
        return x * 2

    @DBOS.step()
    def confirm(x: int) -> int:
        return x - 1

    @DBOS.workflow()
    def order(x: int) -> int:
        return confirm(charge(reserve(x)))

    DBOS.launch()
    return order


class DbosBench:
    """DBOS launched once on one SQLite file, with a three-step workflow; a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.workflow: Callable[[int], int] | None = None

    def __enter__(self) -> DbosBench:

        self.workflow = launch_dbos_order({"system_database_url": f"sqlite:///{self.path}"})
        return self

    def __exit__(self, *exc: object) -> None:
        from dbos import DBOS

        DBOS.destroy(destroy_registry=True)

    def run(self, *, senders: int, workflows: int, warmup: int) -> PeerRun:
        """Steps per second: ``workflows`` workflows (each awaited) by ``senders`` threads."""
        workflow = self.workflow
        assert workflow is not None, "use DbosBench as a context manager"

        def one(k: int) -> int:
            if workflow(k) != (k + 1) * 2 - 1:
                raise RuntimeError(f"DBOS: workflow {k} returned a wrong result")
            return DBOS_STEPS

        _spread(senders, warmup, one)
        done, seconds = _spread(senders, workflows, one)
        return PeerRun(senders, done, seconds, "FULL (DBOS default, rollback journal)")
