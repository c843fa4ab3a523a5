"""``python -m statekeeper.bench tracing``: what OpenTelemetry spans cost a durable step.

Why CPU time and not transitions per second: on a shared machine the wall clock measures the
neighbours; the CPU time a process spends per committed step measures the work.  Each mode
runs in a fresh process (the global state of OpenTelemetry stays in it), the modes in turn,
``--rounds`` times; the least CPU per step of each mode is kept.  The engine is fed by one
thread in groups of 16 over 1,000 instances of the two-state toggle, on SQLite with
``synchronous=OFF`` so no fsync hides the CPU.  Spans go to the SDK's ``BatchSpanProcessor``
with an exporter that counts and drops them (:mod:`.otel`, shared with ``bench features``):
the cost measured is statekeeper's and the SDK's, not a collector's.  Needs
``opentelemetry-sdk`` (in the ``dev`` extra).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..client import Client
from ..core.events import Event
from ..runtime.requests import DeliverEvent, StartInstance
from .durable_statekeeper import CHART_NAME, EVENT, _store, instance_ids, target, toggle_chart
from .otel import sdk_provider

__all__ = ["DESCRIPTION", "MODES", "add_arguments", "measure", "run"]

DESCRIPTION = __doc__.split("\n\n", 1)[1] if __doc__ else None
#: mode -> what it is (the table's rows, in order)
MODES = {
    "off": "tracing off",
    "all": "on, every span sampled, no caller context",
    "ratio10": "on, ParentBased(TraceIdRatioBased(0.1)), no caller context",
    "caller": "on, every send under a sampled caller traceparent",
}
CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
INSTANCES, GROUP = 1000, 16


def _provider(mode: str) -> Any:
    """The SDK tracer provider of ``mode`` (``None``: tracing off)."""
    if mode == "off":
        return None
    return sdk_provider(0.1 if mode == "ratio10" else 1.0)[0]


def measure(mode: str, events: int, directory: Path) -> float:
    """Microseconds of CPU (the whole process) per committed step, starts and warm-up included."""
    provider = _provider(mode)
    header = CALLER if mode == "caller" else None
    ids = instance_ids(INSTANCES)
    warmup = events // 10
    cpu = time.process_time()
    with Client(_store(directory / f"{mode}.db", "OFF"), worker=False,
                tracing=provider if provider is not None else False) as client:
        client.register(toggle_chart())
        submit = client.engine.submit
        for started in [submit(StartInstance(CHART_NAME, i, None, {}, traceparent=header))
                        for i in ids]:
            started.result()
        for first in range(0, events + warmup, GROUP):
            chunk = [ids[target(k, INSTANCES, GROUP)] for k in range(first, first + GROUP)]
            for answer in [submit(DeliverEvent(i, Event(EVENT), traceparent=header))
                           for i in chunk]:
                answer.result()
    cpu = time.process_time() - cpu
    if provider is not None:
        provider.shutdown()
    steps = INSTANCES + -(-(events + warmup) // GROUP) * GROUP
    return cpu / steps * 1e6


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``tracing`` command's options."""
    parser.add_argument("--rounds", type=int, default=5, metavar="N",
                        help="runs of every mode, in turn; the least CPU is kept (default 5)")
    parser.add_argument("--events", type=int, default=20_000, metavar="N",
                        help="events per run (default 20,000)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--one", choices=sorted(MODES), help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    """Run every mode ``--rounds`` times in fresh processes; print the table."""
    if args.one is not None:  # a child process: one measurement, as JSON on stdout
        with tempfile.TemporaryDirectory(prefix="statekeeper-bench-") as tmp:
            print(json.dumps(measure(args.one, args.events, Path(tmp))))
        return 0
    best: dict[str, float] = {}
    for round_ in range(args.rounds):
        for mode in MODES:
            out = subprocess.run(
                [sys.executable, "-m", "statekeeper.bench", "tracing", "--one", mode,
                 "--events", str(args.events)], capture_output=True, text=True, check=True)
            cpu = float(out.stdout)
            best[mode] = min(cpu, best.get(mode, cpu))
            print(f"[bench tracing] round {round_ + 1}: {mode} {cpu:.1f} us CPU per step",
                  file=sys.stderr)
    print("CPU per committed step (engine fed by one thread, groups of 16, SQLite "
          f"synchronous=OFF), least of {args.rounds} round(s):")
    for mode, what in MODES.items():
        print(f"  {what:60} {best[mode]:7.1f} us  ({best[mode] / best['off']:.2f}x off)")
    if args.json:
        Path(args.json).write_text(json.dumps(best, indent=2) + "\n")
    return 0
