"""``python -m statekeeper.bench timers``: how late durable timers fire under a steady stream.

One SQLite file (``synchronous=FULL``) and one :class:`~statekeeper.client.Client` with its
background worker, on the wall clock, as an embedded application runs.  ``count`` instances of
a one-timer chart are started first, each with a delayed send whose due time puts the whole
set ``rate`` per second apart (``first_due + i / rate``), so all ``count`` timers are pending
when the first falls due and then fall due at ``rate`` per second; nothing else runs while they
fire.  The starts may go as fast as they can: the delay each is given is computed when it is
submitted, so the due times do not depend on the start rate.

Lateness is measured, per timer, from its due time (read from its row before the first is due)
to the commit that fires it (the engine's ``on_commit`` hook, in the engine's thread, reading
the wall clock): queueing in the scan and the engine, the step and the fsync are all in it.
CPU per fire is the process's CPU time over the firing phase divided by the fires.  Every
instance must end done and no timer row be left, or the run fails.

Lateness is also split by cause, at the moment the worker's scan read each timer's row (the
store's ``due_timers`` returned it): the wait for a scan (due time to read) and the rest
(read to committed fire: the engine's queue, the step, the group's commit and its fsync).
Scans that found timers are counted, with how many each handed over.

The collector is set as ``statekeeper worker`` sets it by default (``Client(gc=True)``:
:mod:`statekeeper.runtime.gc_tuning`); ``--no-gc-tuned`` keeps Python's settings, as a
client embedded in an application does unless asked, and the table says which ran.

No peer runs beside it: neither durable peer of ``bench durable`` has a timer service to fire
100,000 pending timers (xstate-statemachine keeps ``after`` deadlines in its snapshots for a
live interpreter to run; DBOS sleeps inside workflows, one thread each).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import tempfile
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..client import Client
from ..core.actions import Send
from ..core.model import Chart, Final, State
from ..runtime.requests import StartInstance
from ..runtime.state import InstanceState
from ..storage.records import TimerRecord
from ..storage.sqlite import SQLiteStore
from ._console import progress_printer
from .durable_statekeeper import fresh_path, instance_ids, synchronous_of
from .gc_pauses import GcPauses
from .timers_report import format_table, to_json
from .timing import percentile

__all__ = ["DESCRIPTION", "Settings", "TimerRun", "add_arguments", "format_table", "lease_chart",
           "main", "run", "run_timers", "to_json"]  # format_table, to_json: timers_report's

DESCRIPTION = (
    "Durable timers under load on SQLite (synchronous=FULL): COUNT instances each with a "
    "pending timer, due RATE per second once all are pending, fired by the client's own "
    "worker on the wall clock; lateness (due time to committed fire) p50/p99/max, the fire "
    "rate achieved and CPU per fire. Progress goes to stderr; the table to stdout."
)
CHART_NAME = "lease"
_progress = progress_printer("timers")


@dataclass(frozen=True, slots=True)
class Settings:
    """How much one run does; ``--quick`` is a smoke-test size."""

    count: int = 100_000
    rate: float = 5_000.0
    #: seconds allowed for starting (at least count / this many starts per second, plus 5 s)
    start_rate_floor: float = 2_500.0
    window: int = 2_048  # starts in flight at once
    #: ``Client(gc=True)``: Python's collector set for the engine (runtime/gc_tuning.py), as
    #: ``statekeeper worker`` sets it by default; ``False``: Python's settings
    gc_tuned: bool = True

    @classmethod
    def quick(cls) -> Settings:
        return cls(count=1_000, rate=1_000.0, start_rate_floor=500.0, window=256)

    @property
    def lead(self) -> float:
        """Seconds from the first start to the first due time."""
        return self.count / self.start_rate_floor + 5.0


def _delay_of(data: Any, event: Any) -> float:
    return float(data["delay"])


def lease_chart() -> Chart:
    """``waiting`` sends itself ``ring`` after ``data["delay"]`` seconds; ``ring`` ends it."""
    return Chart(CHART_NAME, initial="waiting", data={"delay": 0.0}, states={
        "waiting": State(entry=[Send("ring", delayexpr="delay_of", id="ring")],
                         on={"ring": "rang"}),
        "rang": Final(),
    })  # fmt: skip


@dataclass
class TimerRun:
    """What one run measured."""

    count: int
    rate: float
    lateness_ms: list[float]  # sorted
    fire_seconds: float  # first due to last fire
    cpu: float  # process CPU seconds over the firing phase
    start_seconds: float
    started_before_due: bool
    synchronous: str
    #: garbage collections during the firing phase (:meth:`.gc_pauses.GcPauses.report`)
    gc: dict[str, Any] = field(default_factory=dict)
    gc_tuned: bool = False
    #: per timer, ms from its due time to the scan that read it, sorted (empty: not measured)
    scan_wait_ms: list[float] = field(default_factory=list)
    #: per timer, ms from the scan's read to its committed fire, sorted
    after_read_ms: list[float] = field(default_factory=list)
    #: how many timers each scan that found some handed to the engine, in scan order
    scan_sizes: list[int] = field(default_factory=list)

    @property
    def fires_per_s(self) -> float:
        return self.count / self.fire_seconds if self.fire_seconds > 0 else 0.0

    @property
    def cpu_us_per_fire(self) -> float:
        return self.cpu / self.count * 1e6 if self.count else 0.0

    def percentile_ms(self, pct: float) -> float:
        """Lateness in ms at percentile ``pct``, on a 0-100 scale (``99.0`` is the p99)."""
        if not 0.0 < pct <= 100.0:
            raise ValueError(f"percentile_ms() takes a percentile from 0 to 100, not {pct!r}")
        found = percentile(self.lateness_ms, pct)
        if found is None:
            raise ValueError("no timer fired")
        return found


class _ReadTimes(SQLiteStore):
    """The run's store: also notes when the worker's scan first read each timer (wall clock).

    Only reading: the rows, the query and what the scan gets are the store's own.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.read_at: dict[str, float] = {}
        self.sizes: list[int] = []

    def due_timers(self, now: float, *, limit: int = 1000,
                   charts: Sequence[str] | None = None) -> list[TimerRecord]:
        due = super().due_timers(now, limit=limit, charts=charts)
        if due:
            at, read_at = time.time(), self.read_at
            for timer in due:
                read_at.setdefault(timer.instance, at)
            self.sizes.append(len(due))
        return due


class _Fires:
    """The engine's ``on_commit`` hook: the wall-clock time each instance's timer committed."""

    def __init__(self, count: int) -> None:
        self.at: dict[str, float] = {}
        self.count = count
        self.done = threading.Event()

    def __call__(self, state: InstanceState) -> None:
        if state.status == "done":
            self.at[state.id] = time.time()
            if len(self.at) >= self.count:
                self.done.set()


def _start_all(client: Client, ids: list[str], settings: Settings, first_due: float) -> float:
    submit = client.engine.submit
    in_flight: deque[Future[Any]] = deque()
    began = time.perf_counter()
    for i, instance in enumerate(ids):
        delay = max(0.0, first_due + i / settings.rate - time.time())
        in_flight.append(submit(StartInstance(CHART_NAME, instance, data={"delay": delay})))
        if len(in_flight) >= settings.window:
            in_flight.popleft().result()
    while in_flight:
        in_flight.popleft().result()
    return time.perf_counter() - began


def _due_times(path: Path) -> dict[str, float]:
    conn = sqlite3.connect(path)
    try:
        return {instance: float(due) for instance, due in
                conn.execute("SELECT instance, due FROM timers")}
    finally:
        conn.close()


def run_timers(path: Path, settings: Settings) -> TimerRun:
    """Start ``count`` timers, let them fire, and return what was measured."""
    ids = instance_ids(settings.count, "t")
    store = _ReadTimes(path)
    client = Client(store, gc=settings.gc_tuned)
    fires = _Fires(settings.count)
    pauses = GcPauses()
    try:
        client.register(lease_chart(), functions={"delay_of": _delay_of})
        client.engine.on_commit.append(fires)
        first_due = time.time() + settings.lead
        _progress(f"starting {settings.count:,} instances; the first timer is due in "
                  f"{settings.lead:,.0f} s")
        start_seconds = _start_all(client, ids, settings, first_due)
        before_due = time.time() < first_due
        due = _due_times(path)
        if len(due) != settings.count:
            raise RuntimeError(
                f"{len(due):,} timers pending after the starts, not {settings.count:,}: the "
                f"starts ran slower than {settings.start_rate_floor:,.0f}/s, and some timers "
                f"fell due first; allow more time with a lower --start-rate")
        _progress(f"started at {settings.count / start_seconds:,.0f}/s; "
                  f"{len(due):,} timers pending, due {settings.rate:,.0f}/s")
        time.sleep(max(0.0, min(due.values()) - time.time() - 0.05))
        cpu = time.process_time()
        with pauses:
            if not fires.done.wait(settings.count / settings.rate * 20 + 60):
                raise RuntimeError(f"only {len(fires.at):,} of {settings.count:,} timers fired")
        cpu = time.process_time() - cpu
        synchronous = synchronous_of(store)
    finally:
        client.close()
    _check(path, settings.count)
    lateness = sorted((fires.at[i] - due[i]) * 1000.0 for i in ids)
    run = TimerRun(settings.count, settings.rate, lateness,
                   max(fires.at.values()) - min(due.values()), cpu, start_seconds, before_due,
                   synchronous, gc_tuned=settings.gc_tuned)
    read = [i for i in ids if i in store.read_at]
    run.scan_wait_ms = sorted((store.read_at[i] - due[i]) * 1000.0 for i in read)
    run.after_read_ms = sorted((fires.at[i] - store.read_at[i]) * 1000.0 for i in read)
    run.scan_sizes = store.sizes
    run.gc = pauses.report(min(due.values()), max(fires.at.values()),
                           [(due[i], fires.at[i]) for i in ids], run.percentile_ms(99.0))
    return run


def _check(path: Path, count: int) -> None:
    """Every instance ended in ``rang``; no timer row is left."""
    conn = sqlite3.connect(path)
    try:
        left = conn.execute("SELECT count(*) FROM timers").fetchone()[0]
        done = conn.execute("SELECT count(*) FROM instances WHERE status = 'done'").fetchone()[0]
    finally:
        conn.close()
    if left or done != count:
        raise RuntimeError(f"{done:,} of {count:,} instances done, {left:,} timers left")


def _load() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except OSError:  # pragma: no cover - not on every platform
        return None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``timers`` subcommand's options to ``parser``."""
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument("--quick", action="store_true", help="1,000 timers at 1,000/s (smoke)")
    parser.add_argument("--count", type=int, metavar="N", help="pending timers (default 100,000)")
    parser.add_argument("--rate", type=float, metavar="R", help="due per second (default 5,000)")
    parser.add_argument("--start-rate", type=float, metavar="R",
                        help="the slowest start rate to allow for: the first timer is due "
                             "COUNT / R + 5 seconds after the first start (default 2,500)")
    parser.add_argument("--gc-tuned", action=argparse.BooleanOptionalAction, default=None,
                        help="Client(gc=True): Python's collector set for the engine, as "
                             "statekeeper worker sets it by default (the default here too); "
                             "--no-gc-tuned keeps Python's settings, a Client's default")
    parser.add_argument("--dir", metavar="DIR",
                        help="where the database file goes (default: a temporary directory)")


def run(args: argparse.Namespace) -> int:
    """Run the ``timers`` subcommand from parsed arguments; return the exit status."""
    settings = Settings.quick() if args.quick else Settings()
    overrides = {k: v for k, v in (("count", args.count), ("rate", args.rate),
                                   ("start_rate_floor", args.start_rate)) if v is not None}
    if args.gc_tuned is not None:
        settings = replace(settings, gc_tuned=args.gc_tuned)
    if any(v <= 0 for v in overrides.values()):
        print("--count, --rate and --start-rate must be above 0", flush=True)
        return 2
    settings = replace(settings, **overrides)
    load_before = _load()
    if args.dir:
        Path(args.dir).mkdir(parents=True, exist_ok=True)
        result = run_timers(fresh_path(Path(args.dir), "timers.db"), settings)
    else:
        with tempfile.TemporaryDirectory(prefix="statekeeper-timers-") as tmp:
            result = run_timers(Path(tmp) / "timers.db", settings)
    data = to_json(result, {"before": load_before, "after": _load()})
    print(format_table(data))
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``timers`` on its own (``python -m statekeeper.bench timers`` is the usual way)."""
    parser = argparse.ArgumentParser(prog="python -m statekeeper.bench timers",
                                     description=DESCRIPTION)
    add_arguments(parser)
    return run(parser.parse_args(argv))
