"""``bench migrate``: batch migrations per second beside plain transitions, on SQLite (FULL).

One SQLite file with the store's defaults (WAL, ``synchronous=FULL``) holds N instances of a
data-driven chart: half are ``idle`` with an ``after`` timer pending, half ``busy``.  In the
same run, on the same file:

* **transitions**: one ``go`` event to each instance, queued together (``send(wait=False)``)
  so the engine groups them as a busy application's would; each is one committed step.
* **migrations**: ``client.migrate(chart, 2, dry_run=False, batch=B)`` moves every instance to
  v2 (``busy`` is renamed ``working``, the data map adds a field, the pending timers keep their
  due time); each is one committed, logged transition.

CPU time of the whole process (every thread) per instance is the steadier figure on a shared
machine; wall time is reported too.  The ratio is CPU per migration over CPU per transition.
Both phases touch every instance once, so with more instances than the engine caches
(10,000) the transitions read cold rows, as the migration does: the two are compared on the
same footing, and neither is the hot-instance rate of ``bench durable``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from ..client import Client
from ..core.migration import Migration
from ..core.model import Chart, State
from ..runtime.requests import StartInstance

__all__ = ["DESCRIPTION", "add_arguments", "chart", "measure", "run"]

DESCRIPTION = ("Batch migrations per second of N live instances (timers pending) beside the "
               "plain transition rate, on one SQLite file with synchronous=FULL.")


def chart(version: int) -> Chart:
    """The benchmark chart: v2 renames ``busy`` to ``working``."""
    busy = "busy" if version == 1 else "working"
    return Chart("job", version=version, initial="idle", data={"runs": 0}, states={
        "idle": State(on={"go": busy}, after={"1h": "expired"}),
        busy: State(on={"go": "idle"}),
        "expired": State(on={"go": "idle"}),
    })


MIGRATION = Migration("job", 1, 2, states={"busy": "working"},
                      data=lambda data: {**data, "owner": None})


def _clocked(fn: Any) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def measure(path: Path, instances: int, batch: int) -> dict[str, Any]:
    """Create the instances, then time the transitions and the migration; return the figures."""
    ids = [f"job-{n:07d}" for n in range(instances)]
    with Client(f"sqlite:///{path}", worker=False) as client:
        client.register(chart(1))
        for start in range(0, instances, 1000):
            futures = [client.engine.submit(StartInstance("job", i, None, {}))
                       for i in ids[start:start + 1000]]  # grouped, as durable_statekeeper
            for future in futures:
                future.result()
        half = ids[: instances // 2]
        for future in [client.send(i, "go", wait=False) for i in half]:
            future.result()  # half busy, half idle with a timer pending

        def transitions() -> int:
            sent = [client.send(i, "go", wait=False) for i in ids]
            return sum(1 for f in sent if f.result().outcome == "applied")

        applied, t_wall, t_cpu = _clocked(transitions)
        client.register(chart(2))
        client.register_migration(MIGRATION)
        run, m_wall, m_cpu = _clocked(lambda: client.migrate("job", 2, dry_run=False,
                                                             batch=batch))
        if applied != instances or len(run.migrated) != instances:
            raise RuntimeError(f"expected {instances} transitions and migrations, got "
                               f"{applied} and {len(run.migrated)} ({len(run.failed)} failed)")
    return {
        "instances": instances, "batch": batch, "synchronous": "FULL",
        "transitions": {"wall_s": t_wall, "cpu_s": t_cpu, "per_s": instances / t_wall,
                        "cpu_us_each": t_cpu / instances * 1e6},
        "migrations": {"wall_s": m_wall, "cpu_s": m_cpu, "per_s": instances / m_wall,
                       "cpu_us_each": m_cpu / instances * 1e6,
                       "transactions": run.transactions},
        "cpu_ratio_migration_to_transition": m_cpu / t_cpu if t_cpu else None,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options."""
    parser.add_argument("--instances", type=int, default=100_000,
                        help="live instances to migrate (default 100000)")
    parser.add_argument("--batch", type=int, default=500,
                        help="instances per migration transaction (default 500)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")


def run(args: argparse.Namespace) -> int:
    """Measure once and print the figures."""
    with tempfile.TemporaryDirectory() as folder:
        figures = measure(Path(folder) / "migrate.db", args.instances, args.batch)
    t, m = figures["transitions"], figures["migrations"]
    print(f"{figures['instances']} instances, SQLite synchronous=FULL, batch {figures['batch']}")
    print(f"  transitions: {t['per_s']:>10,.0f}/s  {t['cpu_us_each']:8.1f} us CPU each")
    print(f"  migrations:  {m['per_s']:>10,.0f}/s  {m['cpu_us_each']:8.1f} us CPU each "
          f"({m['transactions']} transactions)")
    print(f"  CPU per migration / per transition: "
          f"{figures['cpu_ratio_migration_to_transition']:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0
