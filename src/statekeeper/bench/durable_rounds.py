"""The rounds of ``bench durable``: every cell run once per round, the best run kept.

Kept apart from :mod:`.durable` (which says what the cells are) so the loop that runs them,
checks their ``synchronous`` level and files each result where the report reads it is one
small piece.  A cell belongs to a table: ``"toggle"`` (the memoised two-state chart, with the
engine-alone and bare-SQLite diagnostics), or one of :data:`CHART_TABLES` (the data-driven
chart's transitions, and starts), whose runs also carry the CPU time they took.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ._console import describe, progress_printer
from .durable_chart_runs import ChartRun
from .durable_peers import PeerRun, installed_version
from .durable_report import SK, DurableResults
from .durable_statekeeper import SenderRun
from .timing import percentile

__all__ = [
    "CHART_TABLES",
    "DISK_ROW",
    "ENGINE_ROW",
    "Measurement",
    "Run",
    "peer_installed",
    "run_rounds",
]

Run = SenderRun | PeerRun | ChartRun
#: The row of the engine-alone cells (kept in ``DurableResults.engine``, not in the table).
ENGINE_ROW = "engine_alone"
#: The row of the bare-SQLite cells (kept in ``DurableResults.disk``).
DISK_ROW = "sqlite_alone"
#: The data-driven chart's tables: committed transitions, and starts.
CHART_TABLES = ("chart", "starts")

_progress = progress_printer("durable")


@dataclass(frozen=True, slots=True)
class Measurement:
    """One cell: what to run (on a fresh file) for ``row`` x ``col`` of ``table``."""

    row: str
    col: str
    label: str
    unit: str
    synchronous: str | None  # the level its connections must report, when it is checked
    run: Callable[[Path], Run]
    table: str = "toggle"


def peer_installed(distribution: str, results: DurableResults) -> bool:
    """Record the peer's version; if it is not installed, note it once (its cells stay n/a)."""
    version = installed_version(distribution)
    if version is None:
        note = f"{distribution}: not installed (pip install 'statekeeper[bench]'): n/a"
        if note not in results.notes:
            results.notes.append(note)
        return False
    results.versions[distribution] = version
    return True


def run_rounds(repeats: int, directory: Path, measurements: list[Measurement],
               results: DurableResults) -> None:
    """Run every measurement once per round; keep each cell's best run.

    Rounds, rather than all repeats of one cell in a row, so that a busy spell of a shared
    machine lands on every library alike instead of on whichever ran during it.
    """
    best: dict[tuple[str, str, str], tuple[Measurement, Run]] = {}
    failed: set[tuple[str, str, str]] = set()
    latencies: list[float] = []
    for r in range(repeats):
        for m in measurements:
            cell = (m.table, m.row, m.col)
            if cell in failed:
                continue
            _progress(f"round {r + 1} of {repeats}: {m.label}")
            try:
                run = m.run(directory)
                if m.synchronous is not None and run.synchronous != m.synchronous:
                    raise RuntimeError(
                        f"its connections use synchronous={run.synchronous}, not {m.synchronous}"
                    )
            except Exception as exc:  # noqa: BLE001 - a broken library must not stop the run
                failed.add(cell)
                _mark_error(results, m)
                results.notes.append(f"{m.label}: {describe(exc)}")
                _progress(f"{m.label}: error: {describe(exc)}")
                continue
            _progress(f"{m.label}: {run.per_s:,.0f} {m.unit}{_extra(run)}")
            if isinstance(run, SenderRun):
                latencies.extend(run.latencies_ms)
            if cell not in best or run.per_s > best[cell][1].per_s:
                best[cell] = (m, run)
    for m, run in best.values():
        _file(results, m, run)
    samples = sorted(latencies)
    results.p50_ms = percentile(samples, 50.0)
    results.p99_ms = percentile(samples, 99.0)


def _extra(run: Run) -> str:
    if isinstance(run, ChartRun):
        effects = f", {run.effects:,} effect outcomes committed besides" if run.effects else ""
        return f", {run.cpu_us:,.0f} us CPU each{effects}"
    if isinstance(run, SenderRun) and run.batches and run.senders > 1:
        return f", {run.per_batch:.1f} per group commit"
    return ""


def _mark_error(results: DurableResults, m: Measurement) -> None:
    if m.table in CHART_TABLES:
        results.tables[m.table].setdefault(m.row, {})[m.col] = "error"
    elif m.row in results.cells:
        results.cells[m.row][m.col] = "error"


def _file(results: DurableResults, m: Measurement, run: Run) -> None:
    """Put a cell's best run where the report reads it."""
    if m.table in CHART_TABLES and isinstance(run, ChartRun):
        results.tables[m.table].setdefault(m.row, {})[m.col] = run.per_s
        results.cpu_us[m.table].setdefault(m.row, {})[m.col] = run.cpu_us
    elif m.row == ENGINE_ROW:
        results.engine[m.col] = run.per_s
    elif m.row == DISK_ROW:
        results.disk[m.col] = run.per_s
    else:
        results.cells[m.row][m.col] = run.per_s
        if m.row == SK and isinstance(run, SenderRun) and run.senders > 1:
            results.batch = run.per_batch
