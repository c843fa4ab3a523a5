"""``python -m statekeeper.bench dispatch``: in-process dispatch speed against peer libraries.

Every installed library builds the same four machines (see :mod:`.shapes`) with its own API,
proves it computes the same states as statekeeper on the same event stream, and only then is
timed: ns per event for each shape, microseconds to create a flat3 instance and bytes per live
flat3 instance.  The result is a table with peer/statekeeper ratios, a verdict on statekeeper's
targets and, with ``--json``, a file other tools (CI, docs) can read.
"""

from __future__ import annotations

import argparse
import platform
import sys
from dataclasses import dataclass, replace
from typing import Any

from ._console import describe, progress_printer
from .adapters import LIBRARIES, Adapter, load_adapters
from .agreement import Trace, check_agreement, reference_trace
from .report import BASELINE, Results, format_table, verdict, write_json
from .shapes import SHAPE_NAMES, SHAPES
from .timing import measure_bytes, time_create, time_dispatch

__all__ = ["DESCRIPTION", "Settings", "add_arguments", "main", "run", "run_benchmark"]

DESCRIPTION = (
    "Compare in-process event dispatch with peer Python statechart libraries. Each installed "
    "library builds the same four machines (flat3, flat20, compound, parallel) with its own API "
    "and must reach the same states as statekeeper on the same event stream before it is timed "
    "(ns per event), then flat3 instance creation (us) and size (bytes) are measured. "
    "Progress goes to stderr; the table to stdout."
)


@dataclass(frozen=True, slots=True)
class Settings:
    """How much work one run does; ``--quick`` picks small values for smoke tests.

    ``create_batch`` is kept small because transitions' ``add_model`` scans the machine's model
    list, so a big batch would time that scan rather than creating one instance.
    """

    events: int = 10_000
    repeats: int = 5
    check_events: int = 2_000
    create_batch: int = 200
    create_repeats: int = 15
    instances: int = 10_000
    budget_s: float = 5.0

    @classmethod
    def quick(cls) -> Settings:
        """Return settings for a low-repeat run: seconds, not minutes (numbers are rougher)."""
        return cls(events=1_000, repeats=2, check_events=200, create_batch=100,
                   create_repeats=3, instances=1_000, budget_s=1.0)  # fmt: skip


_progress = progress_printer("dispatch")
_error = describe


def _bench_library(
    adapter: Adapter,
    settings: Settings,
    results: Results,
    baselines: dict[str, Trace],
) -> None:
    """Check and time one library on every shape, then its flat3 create cost and size."""
    lib = adapter.name
    flat3_factory: Any = None
    for shape in SHAPE_NAMES:
        cells = results.cells[shape]
        if shape not in adapter.shapes:
            cells[lib] = "n/a"
            continue
        stream = SHAPES[shape].stream(settings.events)
        check = stream[: settings.check_events]
        try:
            factory = adapter.build(shape)
            _progress(f"{lib}: {shape}: checking states on {len(check):,} events")
            got, problem = check_agreement(adapter, shape, factory, check, baselines.get(shape))
        except Exception as exc:  # noqa: BLE001 -- a broken peer must not stop the run
            cells[lib] = "error"
            results.notes.append(f"{lib} {shape}: {_error(exc)}")
            _progress(f"{lib}: {shape}: error: {_error(exc)}")
            continue
        if problem is not None:
            cells[lib] = "mismatch"
            results.notes.append(f"{lib} {shape}: mismatch, not timed: {problem}")
            _progress(f"{lib}: {shape}: MISMATCH: {problem}")
            continue
        if lib == BASELINE:
            baselines[shape] = got
        if shape == "flat3":
            flat3_factory = factory
        _progress(f"{lib}: {shape}: timing {len(stream):,} events x {settings.repeats}")
        try:
            final = reference_trace(shape, stream)[-1]
            ns = time_dispatch(adapter, factory, stream, settings.repeats,
                               budget_s=settings.budget_s, final=final)  # fmt: skip
        except Exception as exc:  # noqa: BLE001 -- reported as an "error" cell
            cells[lib] = "error"
            results.notes.append(f"{lib} {shape} timing: {_error(exc)}")
            _progress(f"{lib}: {shape}: error while timing: {_error(exc)}")
            continue
        cells[lib] = ns
        _progress(f"{lib}: {shape}: {ns:,.0f} ns/event")
    if flat3_factory is None:
        for row in ("create_us", "bytes_per_instance"):
            results.cells[row][lib] = results.cells["flat3"].get(lib, "error")
        return
    _progress(f"{lib}: create: {settings.create_batch:,} instances x {settings.create_repeats}")
    try:
        results.cells["create_us"][lib] = time_create(
            adapter, flat3_factory, settings.create_batch, settings.create_repeats,
            budget_s=settings.budget_s)  # fmt: skip
        _progress(f"{lib}: memory: {settings.instances:,} live instances")
        results.cells["bytes_per_instance"][lib] = measure_bytes(adapter, flat3_factory, settings.instances)
    except Exception as exc:  # noqa: BLE001 -- reported as "error" cells
        for row in ("create_us", "bytes_per_instance"):
            results.cells[row].setdefault(lib, "error")
        results.notes.append(f"{lib} create/memory: {_error(exc)}")


def run_benchmark(settings: Settings, only: tuple[str, ...] | None = None) -> Results:
    """Check and time every selected, installed library; return the data, not the table."""
    adapters, skipped = load_adapters(only)
    results = Results(libraries=[adapter.name for adapter in adapters])
    results.versions = {adapter.name: adapter.version() for adapter in adapters}
    results.header = (
        f"statekeeper dispatch benchmark: Python {platform.python_version()} "
        f"({platform.python_implementation()}), {settings.events:,} events per shape, "
        f"best of <={settings.repeats} repeats, gc paused while timing; create and memory "
        f"use flat3 ({settings.instances:,} live instances for memory)"
    )
    baselines: dict[str, Trace] = {}
    for adapter in adapters:
        _bench_library(adapter, settings, results, baselines)
    results.notes.extend(f"{lib}: skipped, {why}" for lib, why in skipped.items())
    results.notes.extend(f"{a.name}: {a.note}" for a in adapters if a.note)
    return results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``dispatch`` subcommand's options to ``parser``."""
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument(
        "--quick", action="store_true", help="fast low-repeat run (smoke tests); numbers are rough"
    )
    parser.add_argument(
        "--only", metavar="LIB[,LIB]", help=f"run only these libraries (of: {', '.join(LIBRARIES)})"
    )
    parser.add_argument("--events", type=int, metavar="N", help="events per shape stream")
    parser.add_argument("--repeats", type=int, metavar="N", help="timed repeats per shape")
    parser.add_argument("--instances", type=int, metavar="N",
                        help="live instances for the memory measurement")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Run the ``dispatch`` subcommand from parsed arguments; return the exit status."""
    settings = Settings.quick() if args.quick else Settings()
    overrides = {
        key: value
        for key, value in (("events", args.events), ("repeats", args.repeats),
                           ("instances", args.instances))
        if value is not None
    }  # fmt: skip
    if any(value < 1 for value in overrides.values()):
        print("--events, --repeats and --instances must be at least 1", file=sys.stderr)
        return 2
    settings = replace(settings, **overrides)
    only = tuple(lib.strip() for lib in args.only.split(",") if lib.strip()) if args.only else None
    try:
        results = run_benchmark(settings, only)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(format_table(results))
    for line in verdict(results):
        print(line)
    if results.notes:
        print("notes:")
        for note in results.notes:
            print(f"  - {note}")
    if args.json:
        write_json(results, args.json)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``dispatch`` on its own (``python -m statekeeper.bench dispatch`` is the usual way)."""
    parser = argparse.ArgumentParser(
        prog="python -m statekeeper.bench dispatch",
        description=DESCRIPTION,
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
