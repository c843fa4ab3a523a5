"""The processes of ``bench postgres``: each cell runs in real, separate OS processes.

:func:`run_processes` starts ``len(jobs)`` processes (``spawn``: fresh interpreters, as
separate application servers would be), lets each set itself up (open its client, warm up),
then releases them together for a fixed time (or, for effects, until a given amount of work
is done), and collects what each did.  Around the timed part it reads the CPU time of the
server's processes serving them (by ``application_name``), so a cell says where the time went:
the client processes (measured by each for itself, all threads), the server backends that
worked for them, the server's shared background processes, and the machine as a whole.

The jobs (module-level functions, so ``spawn`` can find them):

* :func:`send_job`: an :class:`~statekeeper.client.AsyncClient` whose ``senders`` asyncio tasks
  each ``await send(...)`` in turn over the process's own instances (every send waits for its
  commit); each send is timed (send-to-commit latency).
* :func:`effects_job`: a client whose worker runs the outbox's effects, concurrency 16, until
  every process together has seen the expected number of instances finish.
* the peers' jobs, DBOS and plain psycopg, are in :mod:`.postgres_peers`.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import queue as queue_module
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._console import describe
from .postgres_server import machine_busy, server_cpu

__all__ = [
    "JOB_CHART",
    "LEDGER_BINDINGS",
    "LEDGER_CHART",
    "Job",
    "ProcsRun",
    "Report",
    "bench_chart",
    "effects_job",
    "job_chart",
    "ledger_chart",
    "run_processes",
    "send_job",
    "timed",
]

JOB_CHART = "job"
_TIMEOUT = 300.0  # seconds any one phase may take before the run is declared stuck
BARE_ROW = "x" * 200  # about the size of a transition row's data


@dataclass(frozen=True, slots=True)
class Job:
    """One process: the function it runs and its keyword arguments (picklable)."""

    target: Callable[..., None]
    kwargs: dict[str, Any]


@dataclass
class ProcsRun:
    """What the processes of one cell did together in the timed part."""

    processes: int
    units: int
    seconds: float
    client_cpu: float
    server_cpu: float
    background_cpu: float
    machine_busy: float  # share of the machine's CPU busy (all cores, anyone) while it ran
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def per_s(self) -> float:
        return self.units / self.seconds if self.seconds > 0 else 0.0

    def cpu_ms_per_unit(self, seconds: float) -> float | None:
        return seconds * 1000.0 / self.units if self.units else None


class _Sync:
    """The barriers and the result queue one cell's processes share."""

    def __init__(self, ctx: Any, parties: int) -> None:
        self.ready = ctx.Barrier(parties + 1)
        self.go = ctx.Barrier(parties + 1)
        self.finish = ctx.Barrier(parties + 1)
        self.results = ctx.Queue()
        self.done = ctx.Value("q", 0)  # effects finished, over every process


def _child(job: Job, sync: _Sync, index: int) -> None:
    """Run one job in a child process; report its result or its error, never hang the parent.

    A job calls ``report(result)`` at the end of its timed part, before it closes anything:
    that waits until the parent has read the server's CPU, so the connections that served the
    job are still there to be read.
    """
    reported = [False]

    def report(result: dict[str, Any]) -> None:
        sync.results.put(("ok", index, result))
        reported[0] = True
        with contextlib.suppress(threading.BrokenBarrierError):
            sync.finish.wait(_TIMEOUT)

    try:
        job.target(sync=sync, report=report, **job.kwargs)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises
        if not reported[0]:
            sync.results.put(("error", index, describe(exc)))
            for barrier in (sync.ready, sync.go, sync.finish):
                barrier.abort()


def _errors(sync: _Sync) -> str:
    found = []
    while True:
        try:
            kind, index, value = sync.results.get(timeout=1.0)
        except queue_module.Empty:
            break
        if kind == "error":
            found.append(f"process {index}: {value}")
    return "; ".join(found) or "a process stopped without saying why"


def run_processes(jobs: list[Job], url: str, application_name: str) -> ProcsRun:
    """Run ``jobs`` as processes together; the timed part is measured as module doc says."""
    ctx = multiprocessing.get_context("spawn")
    sync = _Sync(ctx, len(jobs))
    procs = [ctx.Process(target=_child, args=(job, sync, i), daemon=True)
             for i, job in enumerate(jobs)]
    for proc in procs:
        proc.start()
    try:
        try:
            sync.ready.wait(_TIMEOUT)
            before = server_cpu(url, application_name)
            busy_before, window_before = machine_busy()
            sync.go.wait(_TIMEOUT)
        except threading.BrokenBarrierError:
            raise RuntimeError(_errors(sync)) from None
        results: list[dict[str, Any]] = []
        for _ in jobs:
            kind, index, value = sync.results.get(timeout=_TIMEOUT)
            if kind == "error":
                raise RuntimeError(f"process {index}: {value}")
            results.append(value)
        busy_after, window_after = machine_busy()
        after = server_cpu(url, application_name)
        busy = (busy_after - busy_before) / max(1e-9, window_after - window_before)
        sync.finish.wait(_TIMEOUT)
    finally:
        for proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
                proc.join()
    ours, shared = after.since(before)
    start = min(r["start"] for r in results)
    end = max(r["end"] for r in results)
    latencies = [x for r in results for x in r.get("latencies_ms", ())]
    return ProcsRun(len(jobs), sum(r["units"] for r in results), end - start,
                    sum(r["cpu"] for r in results), ours, shared, busy, latencies)


def timed(sync: Any) -> None:
    """In a job: wait for the parent's release of every process (the timed part starts)."""
    sync.ready.wait(_TIMEOUT)
    sync.go.wait(_TIMEOUT)


# ---------------------------------------------------------------------- statekeeper


Report = Callable[[dict[str, Any]], None]


LEDGER_CHART = "ledger"


def _positive(data: Any, event: Any) -> bool:
    return bool(event.data["amount"] > 0 and data["total"] < 10**15)


def _next_n(data: Any, event: Any) -> int:
    return int(data["n"]) + 1


def _add_amount(data: Any, event: Any) -> int:
    return int(data["total"]) + int(event.data["amount"])


#: the data-driven chart's guards and functions, bound by name
LEDGER_BINDINGS: dict[str, dict[str, Any]] = {
    "guards": {"positive": _positive},
    "functions": {"next_n": _next_n, "add_amount": _add_amount},
}


def ledger_chart() -> Any:
    """A data-driven chart: guards over data and payload, assigns, two states.

    Each ``flip`` carries an amount, is guarded over the data and the payload, assigns a
    counter and a total, and moves between ``even`` and ``odd``.  No step of it is memoised
    (its guards read data), unlike the toggle's.
    """
    from ..core.actions import Assign
    from ..core.model import Chart, State, Transition

    def flip(target: str) -> Any:
        return Transition(target, cond="positive", actions=[Assign("n", expr="next_n"),
                                                           Assign("total", expr="add_amount")])

    return Chart(LEDGER_CHART, initial="even", data={"n": 0, "total": 0}, states={
        "even": State(on={"flip": flip("odd")}),
        "odd": State(on={"flip": flip("even")}),
    })


def bench_chart(name: str) -> tuple[Any, dict[str, dict[str, Any]]]:
    """The chart a cell sends to, and what to bind: ``toggle`` or ``ledger``."""
    from .durable_statekeeper import toggle_chart

    if name == LEDGER_CHART:
        return ledger_chart(), LEDGER_BINDINGS
    return toggle_chart(), {}


def send_job(*, sync: Any, report: Report, url: str, ids: list[str], senders: int,
             seconds: float, warmup: int, chart: str = "toggle") -> None:
    """``senders`` tasks send ``flip`` to ``ids`` (each its own share) for ``seconds``."""
    asyncio.run(_send(sync, report, url, ids, senders, seconds, warmup, chart))


async def _send(sync: Any, report: Report, url: str, ids: list[str], senders: int,
                seconds: float, warmup: int, chart: str) -> None:
    from ..client import AsyncClient

    client = AsyncClient(url, worker=False)
    ledger = chart == LEDGER_CHART
    try:
        definition, bindings = bench_chart(chart)
        client.register(definition, guards=bindings.get("guards"),
                        functions=bindings.get("functions"))
        clock = time.perf_counter
        latencies: list[float] = []

        async def sender(first: int, deadline: float | None, count: int | None) -> int:
            done = 0
            own = ids[first::senders]
            while (deadline is None and done < (count or 0)) or (
                    deadline is not None and clock() < deadline):
                instance = own[done % len(own)]
                sent = clock()
                state = await client.send(
                    instance, "flip", {"amount": 1 + done % 5} if ledger else None)
                if deadline is not None:
                    latencies.append((clock() - sent) * 1000.0)
                if state.outcome != "applied":
                    raise RuntimeError(f"send to {instance!r} was not applied: {state!r}")
                done += 1
            return done

        await asyncio.gather(*(sender(j, None, max(1, warmup // senders))
                               for j in range(senders)))
        await asyncio.to_thread(timed, sync)
        cpu, start = time.process_time(), clock()
        deadline = start + seconds
        counts = await asyncio.gather(*(sender(j, deadline, None) for j in range(senders)))
        end = clock()
        result = {"units": sum(counts), "start": start, "end": end,
                  "cpu": time.process_time() - cpu, "latencies_ms": latencies}
        await asyncio.to_thread(report, result)
    finally:
        await client.close()


def job_chart() -> Any:
    """One effect per instance: ``working`` runs ``work``, its outcome ends the instance."""
    from ..core.actions import Effect
    from ..core.model import Chart, Final, State

    return Chart(JOB_CHART, initial="working", states={
        "working": State(entry=[Effect("work")], on={"done.effect.work": "finished"}),
        "finished": Final(),
    })  # fmt: skip


def _work(args: Any, key: str) -> dict[str, str]:
    return {"key": key}


def effects_job(*, sync: Any, report: Report, url: str, expected: int,
                concurrency: int) -> None:
    """Run the outbox's effects until ``expected`` instances finished over every process."""
    from ..client import Client
    from ..runtime.state import InstanceState

    finished = threading.Event()
    mine = [0]

    def committed(state: InstanceState) -> None:
        if state.chart == JOB_CHART and state.status == "done":
            mine[0] += 1
            with sync.done.get_lock():
                sync.done.value += 1
                total = sync.done.value
            if total >= expected:
                finished.set()

    client = Client(url, worker=False, concurrency=concurrency)
    try:
        client.register(job_chart(), effects={"work": _work})
        client.engine.on_commit.append(committed)
        timed(sync)
        cpu, start = time.process_time(), time.perf_counter()
        client.worker.start()
        while not finished.wait(0.005):
            if sync.done.value >= expected:
                break
        end = time.perf_counter()
        report({"units": mine[0], "start": start, "end": end, "cpu": time.process_time() - cpu})
    finally:
        client.close()
