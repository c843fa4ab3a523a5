"""``python -m statekeeper.bench wide``: one event into many parallel regions, against peers.

Each library builds one parallel state of N regions (see :mod:`.wide_charts`) and is timed
in CPU time: starting an instance (entering every region), one event every region takes
(``tick``) and one event a single region takes (``e<i>``).  Every timed instance must end in
the leaves the reference model says, so a library that only queued an event cannot win.

Each (library, N) runs in a child process with a cap on its CPU and wall time: some peers'
steps grow much faster than N, and a run that would take minutes is reported as over the cap
(and the larger sizes of that library are skipped).  The garbage collector is paused while the
clock runs, as in the dispatch benchmark; the best of a few repeats, each on a fresh
instance, is reported.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from ._console import describe, progress_printer
from .wide_charts import BUILDERS, NOT_EXPRESSIBLE, expected_leaves

__all__ = ["DESCRIPTION", "SIZES", "add_arguments", "measure", "run"]

DESCRIPTION = (
    "Wide charts: CPU time to start an instance of one parallel state with N regions and to "
    "process one event every region takes and one event a single region takes, for "
    "statekeeper and every peer library that has parallel regions. Each measurement runs in "
    "a child process under --cap seconds. Progress goes to stderr; the table to stdout."
)

#: the region counts measured by default
SIZES = (250, 1_000, 10_000)

_progress = progress_printer("wide")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``wide`` command's options to ``parser``."""
    parser.add_argument("--sizes", type=lambda text: tuple(int(n) for n in text.split(",")),
                        default=SIZES, help="comma-separated region counts (default "
                        f"{','.join(map(str, SIZES))})")
    parser.add_argument("--libs", type=lambda text: tuple(text.split(",")),
                        default=tuple(BUILDERS), help="comma-separated libraries")
    parser.add_argument("--repeats", type=int, default=3, help="repeats per measurement; "
                        "the best is reported (default 3)")
    parser.add_argument("--cap", type=float, default=60.0, help="seconds one library may take "
                        "for one N, building included (default 60)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--worker", nargs=3, metavar=("LIB", "N", "REPEATS"),
                        help=argparse.SUPPRESS)


def _timed(call: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    gc.disable()
    try:
        start = time.process_time()
        value = call()
        return time.process_time() - start, value
    finally:
        gc.enable()


def measure(lib: str, regions: int, repeats: int) -> dict[str, Any]:
    """CPU seconds of build, start, ``tick`` and ``e<i>`` for ``lib`` with ``regions`` regions.

    A measurement that takes over a second is not repeated.

    Raises:
        RuntimeError: an instance did not end where the reference model says.

    """
    built, (factory, start, send, leaves) = _timed(lambda: BUILDERS[lib](regions))
    del factory
    one = f"e{regions // 2}"
    best = {"start": float("inf"), "tick": float("inf"), "one": float("inf")}
    for _ in range(max(1, repeats)):
        took, instance = _timed(start)
        _check(lib, leaves(instance), regions, ())
        best["start"] = min(best["start"], took)
        for key, event in (("tick", "tick"), ("one", one)):
            instance = start()
            took, _ = _timed(partial(send, instance, event))
            _check(lib, leaves(instance), regions, (event,))
            best[key] = min(best[key], took)
        if max(best.values()) > 1.0:
            break
    return {"build_s": built, "start_s": best["start"], "tick_s": best["tick"],
            "one_s": best["one"]}


def _check(lib: str, found: frozenset[str], regions: int, events: tuple[str, ...]) -> None:
    expected = expected_leaves(regions, events)
    if found != expected:
        wrong = sorted(found ^ expected)[:5]
        raise RuntimeError(f"{lib} with {regions} regions after {list(events)} is not where "
                           f"the reference model is (differences {wrong})")


def _run_child(lib: str, regions: int, repeats: int, cap: float) -> dict[str, Any]:
    command = [sys.executable, "-m", "statekeeper.bench", "wide", "--worker", lib,
               str(regions), str(repeats)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=cap,
                              check=False)
    except subprocess.TimeoutExpired:
        return {"skipped": f"over the cap of {cap:g} s"}
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return {"skipped": lines[-1] if lines else f"exit status {done.returncode}"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _importable(lib: str) -> str | None:
    module = {"python-statemachine": "statemachine", "xstate-statemachine":
              "xstate_statemachine"}.get(lib, lib)
    try:
        __import__(module)
    except ImportError as exc:
        return f"not installed ({describe(exc)}); pip install 'statekeeper[bench]'"
    return None


def _cell(result: dict[str, Any], key: str) -> str:
    if "skipped" in result:
        return "-"
    seconds = result[key]
    return f"{seconds * 1e3:,.1f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:,.0f} us"


def format_table(results: dict[str, dict[int, dict[str, Any]]], sizes: tuple[int, ...]) -> str:
    """The results as a plain-text table, one row per library and N, notes below."""
    lines = [f"{'library':22} {'regions':>8} {'start':>12} {'tick (all)':>12} "
             f"{'e<i> (one)':>12}"]
    notes = []
    for lib, by_size in results.items():
        for regions in sizes:
            result = by_size.get(regions)
            if result is None:
                continue
            lines.append(f"{lib:22} {regions:>8,} {_cell(result, 'start_s'):>12} "
                         f"{_cell(result, 'tick_s'):>12} {_cell(result, 'one_s'):>12}")
            note = f"{lib}: {result['skipped']}" if "skipped" in result else None
            if note is not None and note not in notes:
                notes.append(note)
    return "\n".join([*lines, "", *notes])


def run(args: argparse.Namespace) -> int:
    """Run the benchmark (or, with the hidden ``--worker``, one measurement) and report."""
    if args.worker:
        lib, regions, repeats = args.worker[0], int(args.worker[1]), int(args.worker[2])
        print(json.dumps(measure(lib, regions, repeats)))
        return 0
    unknown = [lib for lib in args.libs if lib not in BUILDERS and lib not in NOT_EXPRESSIBLE]
    if unknown:
        print(f"unknown libraries {unknown}; choose from {sorted(BUILDERS)}", file=sys.stderr)
        return 2
    if any(n < 1 for n in args.sizes):
        print(f"--sizes must be positive region counts, not {args.sizes}", file=sys.stderr)
        return 2
    results: dict[str, dict[int, dict[str, Any]]] = {}
    for lib in args.libs:
        results[lib] = {}
        reason = NOT_EXPRESSIBLE.get(lib) or _importable(lib)
        for regions in sorted(args.sizes):
            if reason is None:
                _progress(f"{lib}: {regions:,} regions")
                result = _run_child(lib, regions, args.repeats, args.cap)
                if "skipped" in result:
                    result["skipped"] += f" at {regions:,} regions"
                    reason = f"not run: {result['skipped']}"
                results[lib][regions] = result
            else:
                results[lib][regions] = {"skipped": reason}
    print(format_table(results, tuple(sorted(args.sizes))))
    if args.json is not None:
        args.json.write_text(json.dumps({
            "benchmark": "wide",
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cap_s": args.cap,
            "repeats": args.repeats,
            "results": {lib: {str(n): r for n, r in by.items()} for lib, by in results.items()},
        }, indent=2) + "\n")
    return 0
