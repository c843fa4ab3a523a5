"""``python -m statekeeper.bench dispatch``: in-process dispatch speed against peer libraries.

Every installed library builds the same machines with its own API: three data-driven shapes
(guards over data and payloads, assigns, entry and exit actions; flat, compound with ``In()``
and an order lifecycle with parallel regions; see :mod:`.data_shapes`) and four static shapes
(no behaviour at all, which statekeeper memoises; see :mod:`.shapes`).  Each library is first
checked event by event against a reference model (state and data), then timed: every
(library, shape) cell runs its stream on a fresh instance once per round, the rounds run every
cell in turn, and the median CPU and wall time per event are reported with ratios to the
fastest peer.  After every timed run the instance's final state and data are checked again; a
mismatch anywhere fails the run (exit status 1, no JSON written).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

from ._console import describe, progress_printer
from .adapters import LIBRARIES, Adapter, load_adapters
from .agreement import Final, check_agreement, check_data_agreement, reference_trace
from .data_shapes import DATA_SHAPES, reference_run
from .report import (
    ALL_SHAPES,
    Results,
    format_markdown,
    format_table,
    verdict,
    write_json,
)
from .shapes import SHAPES
from .timing import Cell, FinalMismatch, measure_bytes, per_event_us, time_create, time_interleaved

__all__ = ["DESCRIPTION", "Settings", "add_arguments", "main", "run", "run_benchmark"]

DESCRIPTION = (
    "Compare in-process event dispatch with peer Python statechart libraries on three "
    "data-driven shapes (guards, assigns, entry/exit actions; flat, compound with In(), "
    "parallel order lifecycle) and four static ones (memoised by statekeeper). Every library "
    "is checked against a reference model (final state and data) before and after it is timed; "
    "libraries run interleaved and the median CPU and wall time per event are reported, with "
    "ratios to the fastest peer. Progress goes to stderr; the tables to stdout."
)


@dataclass(frozen=True, slots=True)
class Settings:
    """How much work one run does; ``--quick`` picks small values for smoke tests.

    Each cell's stream is long enough for about ``target_s`` of CPU per repetition (estimated
    from the check run), between ``min_events`` and ``max_events``; slow peers get shorter
    streams, so a full run stays within minutes.  ``create_batch`` is kept small because
    transitions' ``add_model`` scans the machine's model list.
    """

    repeats: int = 7
    target_s: float = 0.15
    min_events: int = 200
    max_events: int = 50_000
    check_events: int = 400
    create_batch: int = 200
    create_repeats: int = 15
    instances: int = 10_000
    budget_s: float = 3.0

    @classmethod
    def quick(cls) -> Settings:
        """Return settings for a low-repeat run: seconds, not minutes (numbers are rougher)."""
        return cls(repeats=2, target_s=0.01, min_events=50, max_events=1_000, check_events=100,
                   create_batch=50, create_repeats=2, instances=500, budget_s=0.5)  # fmt: skip


_progress = progress_printer("dispatch")


def _stream(shape: str, n: int) -> list[Any]:
    return DATA_SHAPES[shape].stream(n) if shape in DATA_SHAPES else SHAPES[shape].stream(n)


def _expected(shape: str, stream: list[Any]) -> Final:
    if shape in DATA_SHAPES:
        return reference_run(DATA_SHAPES[shape], stream)
    return reference_trace(shape, stream)[-1], {}


def _check(adapter: Adapter, shape: str, factory: Any, stream: list[Any]) -> str | None:
    if shape in DATA_SHAPES:
        return check_data_agreement(adapter, shape, factory, stream)
    return check_agreement(adapter, shape, factory, stream)[1]


def _plan_cell(adapter: Adapter, shape: str, settings: Settings, results: Results) -> Cell | None:
    """Build and check one library on one shape; size its stream from the check's speed."""
    lib = adapter.name
    if shape not in adapter.shapes:
        results.mark(shape, lib, "n/a", adapter.cannot.get(shape, "cannot express this shape"))
        return None
    check = _stream(shape, settings.check_events)
    try:
        factory = adapter.build(shape)
        # checked twice, the second run timed: the first pays what a process pays once (lazy
        # imports, first-use compiles), which sized the first cell's stream a tenth as long
        # and so let its fixed cost per repetition weigh ten times as much per event
        problem = _check(adapter, shape, factory, check)
        started = time.thread_time()
        if problem is None:
            problem = _check(adapter, shape, factory, check)
        spent = time.thread_time() - started
    except Exception as exc:  # noqa: BLE001 -- a broken peer is reported, not fatal
        results.mark(shape, lib, "error", describe(exc))
        _progress(f"{lib}: {shape}: error: {describe(exc)}")
        return None
    if problem is not None:
        results.mark(shape, lib, "mismatch", problem)
        results.mismatches.append(f"{lib} {shape}: {problem}")
        _progress(f"{lib}: {shape}: MISMATCH: {problem}")
        return None
    per_event = max(spent / len(check), 1e-9)
    n = int(min(settings.max_events, max(settings.min_events, settings.target_s / per_event)))
    stream = _stream(shape, n)
    _progress(f"{lib}: {shape}: agrees with the model; {n:,} events per repetition")
    cell = Cell(lib, shape, adapter, factory, stream, _expected(shape, stream))
    # one untimed run of the timed stream: it reaches (configuration, event) pairs the shorter
    # check did not, whose first step (a memo filled, a program compiled) is not the speed
    cell.run(adapter.new_instance(factory))
    return cell


def _create_and_memory(adapter: Adapter, settings: Settings, results: Results) -> None:
    lib = adapter.name
    try:
        factory = adapter.build("flat3")
        results.create_us[lib] = time_create(adapter, factory, settings.create_batch,
                                             settings.create_repeats, budget_s=settings.budget_s)
        results.bytes_per_instance[lib] = measure_bytes(adapter, factory, settings.instances)
    except Exception as exc:  # noqa: BLE001 -- reported as a note
        results.notes.append(f"{lib} create/memory: {describe(exc)}")


def _machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info
                        if line.startswith("model name")), cpu)  # fmt: skip
    except OSError:
        pass
    return {
        "python": f"{platform.python_version()} ({platform.python_implementation()})",
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def run_benchmark(settings: Settings, only: tuple[str, ...] | None = None) -> Results:
    """Check and time every selected, installed library; return the data, not the table."""
    adapters, skipped = load_adapters(only)
    results = Results(libraries=[adapter.name for adapter in adapters])
    results.versions = {adapter.name: adapter.version() for adapter in adapters}
    results.machine = _machine()
    results.settings = asdict(settings)
    results.header = (
        f"statekeeper dispatch benchmark: Python {platform.python_version()}, "
        f"{results.machine['cpus']} CPUs, load {results.machine['load_average_at_start'][0]} "
        f"at start; median of {settings.repeats} interleaved repetitions per cell, gc paused"
    )
    cells = [cell for shape in ALL_SHAPES for adapter in adapters
             if (cell := _plan_cell(adapter, shape, settings, results)) is not None]  # fmt: skip
    try:
        time_interleaved(cells, settings.repeats, _progress)
    except FinalMismatch as exc:
        results.mismatches.append(str(exc))
        _progress(f"MISMATCH: {exc}")
        return results
    for cell in cells:
        n = len(cell.stream)
        results.events.setdefault(cell.shape, {})[cell.library] = n
        results.cpu_us.setdefault(cell.shape, {})[cell.library] = per_event_us(cell.cpu_ns, n)
        results.wall_us.setdefault(cell.shape, {})[cell.library] = per_event_us(cell.wall_ns, n)
    for adapter in adapters:
        _progress(f"{adapter.name}: create and memory (flat3)")
        _create_and_memory(adapter, settings, results)
    results.notes.extend(f"{lib}: skipped, {why}" for lib, why in skipped.items())
    results.notes.extend(f"{a.name}: {a.note}" for a in adapters if a.note)
    for shape in ALL_SHAPES:
        for lib, why in results.why.get(shape, {}).items():
            if results.status[shape][lib] == "n/a":
                results.notes.append(f"{lib} {shape}: n/a, {why}")
    return results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``dispatch`` subcommand's options to ``parser``."""
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument("--markdown", metavar="FILE", help="also write the README's table to FILE")
    parser.add_argument(
        "--quick", action="store_true", help="fast low-repeat run (smoke tests); numbers are rough"
    )
    parser.add_argument(
        "--only", metavar="LIB[,LIB]", help=f"run only these libraries (of: {', '.join(LIBRARIES)})"
    )
    parser.add_argument("--max-events", type=int, metavar="N",
                        help="longest stream per repetition")  # fmt: skip
    parser.add_argument("--repeats", type=int, metavar="N", help="interleaved repetitions")
    parser.add_argument("--instances", type=int, metavar="N",
                        help="live instances for the memory measurement")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Run the ``dispatch`` subcommand from parsed arguments; return the exit status."""
    settings = Settings.quick() if args.quick else Settings()
    overrides = {
        key: value
        for key, value in (("max_events", args.max_events), ("repeats", args.repeats),
                           ("instances", args.instances))
        if value is not None
    }  # fmt: skip
    if any(value < 1 for value in overrides.values()):
        print("--max-events, --repeats and --instances must be at least 1", file=sys.stderr)
        return 2
    settings = replace(settings, **overrides)
    if settings.max_events < settings.min_events:
        settings = replace(settings, min_events=settings.max_events)
    only = tuple(lib.strip() for lib in args.only.split(",") if lib.strip()) if args.only else None
    try:
        results = run_benchmark(settings, only)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(format_table(results))
    print("\n".join(verdict(results)))
    if results.notes:
        print("notes:")
        print("\n".join(f"  - {note}" for note in results.notes))
    if results.mismatches:
        print("MISMATCH: a library disagrees with the reference model; no results written:",
              file=sys.stderr)  # fmt: skip
        print("\n".join(f"  - {m}" for m in results.mismatches), file=sys.stderr)
        return 1
    if args.json:
        write_json(results, args.json)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as out:
            out.write(format_markdown(results) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``dispatch`` on its own (``python -m statekeeper.bench dispatch`` is the usual way)."""
    parser = argparse.ArgumentParser(
        prog="python -m statekeeper.bench dispatch",
        description=DESCRIPTION,
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
