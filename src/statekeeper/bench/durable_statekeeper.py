"""statekeeper's side of ``bench durable``: committed transitions, latency, and mass creation.

Everything goes through the public clients (or, for mass creation, the engine under them),
on a fresh SQLite file per phase with the store's defaults: WAL and ``synchronous=FULL``, so
every answered ``send`` is on disk.  The chart is a two-state toggle: every accepted ``flip``
is one committed transition (a new snapshot, a transition row, one optimistic check), so the
numbers measure the durable path, not the statechart.

* **One sender**: :class:`~statekeeper.client.Client` in a loop, ``send(..., wait=True)``, each
  call timed (these samples are the send-to-commit latency as well).
* **Concurrent senders**: :class:`~statekeeper.client.AsyncClient` with one asyncio task per
  sender, each awaiting ``send(..., wait=True)`` in turn on its own share of the instances, so
  the engine sees at most ``senders`` requests at once and group commit is all it can use.
* **The engine from one thread** (a diagnostic, not a peer comparison): groups of ``senders``
  requests handed straight to the engine by one plain thread and awaited together, no client
  and no event loop, at ``FULL`` and at ``OFF``.  The difference between the two is what the
  fsync costs; when it is small, Python (one core at a time) is the limit, not the disk.

A transition is counted only from a committed result (``outcome == "applied"``); anything else
stops the run with an error rather than inflating the rate.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..client import AsyncClient, Client
from ..core.events import Event
from ..core.model import Chart, State
from ..runtime.requests import DeliverEvent, StartInstance
from ..storage.sqlite import SQLiteStore

__all__ = [
    "CHART_NAME",
    "Creation",
    "SenderRun",
    "create_instances",
    "db_bytes",
    "fresh_path",
    "instance_ids",
    "run_engine_alone",
    "run_one_sender",
    "run_senders",
    "synchronous_name",
    "target",
    "toggle_chart",
]

CHART_NAME = "toggle"
EVENT = "flip"
_SUFFIXES = ("", "-wal", "-shm", "-journal")

Progress = Callable[[str], None]


def toggle_chart() -> Chart:
    """The benchmark chart: ``off`` and ``on``, each ``flip`` moves to the other."""
    return Chart(CHART_NAME, initial="off", states={
        "off": State(on={EVENT: "on"}),
        "on": State(on={EVENT: "off"}),
    })  # fmt: skip


def instance_ids(count: int, prefix: str = "inst") -> list[str]:
    """Fixed-width ids, so they sort in creation order."""
    return [f"{prefix}-{i:07d}" for i in range(count)]


def target(k: int, instances: int, senders: int) -> int:
    """The instance (index) event ``k`` of the stream goes to when ``senders`` share it.

    Sender ``j`` sends events ``j, j + senders, ...`` and owns instances ``j, j + senders, ...``
    (cycling through them), so two senders never address the same instance: none waits for
    another, and a peer with optimistic locking never sees a conflict.
    """
    j, m = k % senders, k // senders
    owned = len(range(j, instances, senders))
    return j + (m % owned) * senders


def fresh_path(directory: Path, name: str) -> Path:
    """``directory/name``, with any earlier database file there (and its WAL) removed."""
    path = directory / name
    for suffix in _SUFFIXES:
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def db_bytes(path: Path) -> int:
    """Bytes of the database file and whatever WAL or journal files sit beside it."""
    return sum(os.path.getsize(f"{path}{s}") for s in _SUFFIXES if os.path.exists(f"{path}{s}"))


def synchronous_name(level: Any) -> str:
    """The name of a ``PRAGMA synchronous`` level as SQLite reports it (``2`` is ``FULL``)."""
    return {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(int(level), str(level))


def synchronous_of(store: SQLiteStore) -> str:
    """The ``synchronous`` level the store's connections really use (read back, not assumed)."""
    return synchronous_name(
        store._db.read(lambda cur: cur.execute("PRAGMA synchronous").fetchone()[0]))


@dataclass
class SenderRun:
    """One timed run: how many transitions committed in how long, and each send's latency."""

    senders: int
    transitions: int
    seconds: float
    batches: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    synchronous: str = "?"

    @property
    def per_s(self) -> float:
        return self.transitions / self.seconds if self.seconds > 0 else 0.0

    @property
    def per_batch(self) -> float:
        return self.transitions / self.batches if self.batches else 0.0


def _store(path: Path, synchronous: str = "FULL") -> SQLiteStore:
    return SQLiteStore(path, synchronous=synchronous)  # the default under test: FULL


def _check(state: Any, instance: str) -> None:
    if getattr(state, "outcome", None) != "applied":
        raise RuntimeError(f"send to {instance!r} was not applied: {state!r}")


def run_one_sender(path: Path, instances: int, events: int, warmup: int) -> SenderRun:
    """One caller, ``Client.send(wait=True)`` in a loop over ``instances`` instances."""
    ids = instance_ids(instances)
    store = _store(path)
    with Client(store) as client:
        client.register(toggle_chart())
        pending = [client.engine.submit(StartInstance(CHART_NAME, i, None, {})) for i in ids]
        for started in pending:
            started.result()
        send = client.send
        for k in range(warmup):
            send(ids[k % instances], EVENT)
        batches = client.engine.batches
        latencies: list[float] = []
        clock = time.perf_counter
        start = clock()
        for k in range(events):
            instance = ids[k % instances]
            sent = clock()
            state = send(instance, EVENT)
            latencies.append(clock() - sent)
            _check(state, instance)
        seconds = clock() - start
        return SenderRun(
            1,
            events,
            seconds,
            client.engine.batches - batches,
            [x * 1000.0 for x in latencies],
            synchronous_of(store),
        )


async def _senders(client: AsyncClient, ids: list[str], senders: int, events: int) -> int:
    """``senders`` tasks; task ``j`` sends events ``j, j + senders, ...`` of the stream."""

    async def sender(first: int) -> int:
        applied = 0
        for k in range(first, events, senders):
            instance = ids[target(k, len(ids), senders)]
            state = await client.send(instance, EVENT)
            _check(state, instance)
            applied += 1
        return applied

    counts = await asyncio.gather(*(sender(j) for j in range(senders)))
    return sum(counts)


async def _run_senders(path: Path, instances: int, senders: int, events: int, warmup: int) -> SenderRun:
    ids = instance_ids(instances)
    store = _store(path)
    client = AsyncClient(store)
    try:
        client.register(toggle_chart())
        await asyncio.gather(*(client.start(CHART_NAME, i) for i in ids))
        await _senders(client, ids, senders, warmup)
        batches = client.engine.batches
        start = time.perf_counter()
        applied = await _senders(client, ids, senders, events)
        seconds = time.perf_counter() - start
        return SenderRun(
            senders, applied, seconds, client.engine.batches - batches, synchronous=synchronous_of(store)
        )
    finally:
        await client.close()


def run_senders(path: Path, instances: int, senders: int, events: int, warmup: int) -> SenderRun:
    """``senders`` concurrent callers (asyncio tasks on one :class:`AsyncClient`)."""
    return asyncio.run(_run_senders(path, instances, senders, events, warmup))


def run_engine_alone(path: Path, instances: int, group: int, events: int, warmup: int,
                     synchronous: str = "FULL") -> SenderRun:
    """Groups of ``group`` requests submitted to the engine at once, each group awaited.

    The same requests a sender makes, without the client: the engine's thread plans, writes
    and answers them while this thread waits on each request's ``Future``.
    """
    ids = instance_ids(instances)
    store = _store(path, synchronous)
    with Client(store, worker=False) as client:
        client.register(toggle_chart())
        submit = client.engine.submit
        for started in [submit(StartInstance(CHART_NAME, i, None, {})) for i in ids]:
            started.result()

        def rounds(count: int) -> int:
            applied = 0
            for first in range(0, count, group):
                last = min(first + group, count)
                chunk = [ids[target(k, instances, group)] for k in range(first, last)]
                for instance, answer in [(i, submit(DeliverEvent(i, Event(EVENT)))) for i in chunk]:
                    _check(answer.result(), instance)
                    applied += 1
            return applied

        rounds(warmup)
        batches = client.engine.batches
        start = time.perf_counter()
        applied = rounds(events)
        seconds = time.perf_counter() - start
        return SenderRun(group, applied, seconds, client.engine.batches - batches,
                         synchronous=synchronous_of(store))


@dataclass
class Creation:
    """Mass creation: how many instances, the file they take, and the rate they were made at."""

    count: int
    seconds: float
    bytes: int

    @property
    def per_s(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0

    @property
    def bytes_per_instance(self) -> float:
        return self.bytes / self.count if self.count else 0.0


def create_instances(
    path: Path, count: int, *, window: int = 4096, progress: Progress | None = None, every_s: float = 5.0
) -> Creation:
    """Start ``count`` instances through the engine's batch path (group commit).

    Up to ``window`` starts are in flight at once, so each group commit carries up to the
    engine's ``max_batch`` of them; every start is durable before it is counted.  The file is
    measured after the store is closed (SQLite checkpoints the WAL into it then).
    """
    ids = instance_ids(count)
    client = Client(_store(path), worker=False)
    try:
        client.register(toggle_chart())
        submit = client.engine.submit
        in_flight: deque[Future[Any]] = deque()
        clock = time.perf_counter
        start = last = clock()
        for n, instance in enumerate(ids, 1):
            in_flight.append(submit(StartInstance(CHART_NAME, instance, None, {})))
            if len(in_flight) >= window:
                in_flight.popleft().result()
            if progress is not None and clock() - last >= every_s:
                last = clock()
                progress(f"created {n:,} of {count:,} ({n / (last - start):,.0f}/s)")
        while in_flight:
            in_flight.popleft().result()
        seconds = clock() - start
    finally:
        client.close()
    return Creation(count, seconds, _checkpointed_bytes(path))


def _checkpointed_bytes(path: Path) -> int:
    """The file's size once its WAL has been folded in (as a restarted process would find it)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return db_bytes(path)
