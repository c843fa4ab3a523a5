"""Turning ``bench postgres`` results into the printed table, the targets verdict and the JSON.

Kept apart from the measuring (as :mod:`.durable_report` is) so the formats can be tested
without a server.  Each measured cell keeps its best round's rate and CPU split; latencies
are pooled over every round of a cell.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .timing import percentile

__all__ = [
    "CELLS",
    "TARGETS",
    "Cell",
    "PostgresResults",
    "format_table",
    "to_json",
    "verdict",
    "write_json",
]

#: Every cell: (row, column) -> (label, unit).  Rows and columns are JSON keys.
CELLS: dict[tuple[str, str], tuple[str, str]] = {
    ("statekeeper", "1_process_1_sender"): ("statekeeper, 1 process, 1 sender", "transitions"),
    ("statekeeper", "1_process"): ("statekeeper, 1 process x 16 senders", "transitions"),
    ("statekeeper", "2_processes"): ("statekeeper, 2 processes x 16 senders", "transitions"),
    ("statekeeper", "4_processes"): ("statekeeper, 4 processes x 16 senders", "transitions"),
    ("statekeeper", "4_processes_ledger"): (
        "statekeeper, 4 processes x 16 senders, data-driven chart (guards over data and "
        "payload, assigns)", "transitions"),
    ("effects", "1_worker"): ("effects, 1 worker process (concurrency 16)", "effects"),
    ("effects", "2_workers"): ("effects, 2 worker processes (concurrency 16)", "effects"),
    ("dbos", "1_process"): ("DBOS, 1 process x 16 threads, 3-step workflow", "steps"),
    ("dbos", "4_processes"): ("DBOS, 4 processes x 16 threads, 3-step workflow", "steps"),
    ("postgres", "1_connection"): ("bare PostgreSQL, 1 connection, 1-row commits", "commits"),
    ("postgres", "8_connections"): ("bare PostgreSQL, 8 connections, 1-row commits", "commits"),
}
HEADLINE = ("statekeeper", "4_processes")
LATENCY_CELL = ("statekeeper", "1_process_1_sender")
#: The issue's targets, reported against (never asserted).
TARGETS = {"transitions_per_s_4_processes": 8_000.0, "times_dbos": 20.0, "p50_ms": 2.0}


@dataclass
class Cell:
    """One cell's best round, and the latencies of all its rounds."""

    per_s: float
    units: int
    seconds: float
    client_cpu_ms: float | None  # CPU of the client processes per unit
    server_cpu_ms: float | None  # CPU of the server backends serving them, per unit
    background_cpu_ms: float | None  # the server's shared processes, per unit
    machine_busy: float  # share of every core of the machine busy in the timed part
    latencies_ms: list[float] = field(default_factory=list)


@dataclass
class PostgresResults:
    """Everything one ``postgres`` run measured."""

    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    errors: dict[tuple[str, str], str] = field(default_factory=dict)
    sizes: dict[str, Any] | None = None
    server: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    header: str = ""
    notes: list[str] = field(default_factory=list)

    def rate(self, row: str, col: str) -> float | None:
        cell = self.cells.get((row, col))
        return cell.per_s if cell is not None else None

    def best(self, row: str) -> float | None:
        found = [c.per_s for (r, _), c in self.cells.items() if r == row]
        return max(found) if found else None

    def latency(self, cell: tuple[str, str], pct: float) -> float | None:
        found = self.cells.get(cell)
        return percentile(sorted(found.latencies_ms), pct) if found else None

    def ratios(self) -> dict[str, float | None]:
        """Rates of statekeeper with 4 processes over DBOS's best, over bare commits; growth 1 -> 4."""
        ours, one = self.rate(*HEADLINE), self.rate("statekeeper", "1_process")
        two = self.rate("statekeeper", "2_processes")

        def over(value: float | None, base: float | None) -> float | None:
            return value / base if value is not None and base else None

        return {
            "dbos": over(ours, self.best("dbos")),
            "postgres_1_connection": over(ours, self.rate("postgres", "1_connection")),
            "postgres_8_connections": over(ours, self.rate("postgres", "8_connections")),
            "2_processes_over_1": over(two, one),
            "4_processes_over_1": over(ours, one),
        }


def _num(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def format_table(results: PostgresResults) -> str:
    """One line per cell: rate, CPU per unit (client, server, shared), machine busy, p50/p99."""
    heads = ("per second", "client CPU ms", "server CPU ms", "shared CPU ms", "machine busy",
             "p50 ms", "p99 ms")
    body: list[tuple[str, list[str]]] = []
    for key, (label, unit) in CELLS.items():
        cell = results.cells.get(key)
        if cell is None:
            body.append((label, [results.errors.get(key, "n/a")] + ["-"] * 6))
            continue
        body.append((f"{label} ({unit})", [
            f"{cell.per_s:,.0f}", _ms(cell.client_cpu_ms), _ms(cell.server_cpu_ms),
            _ms(cell.background_cpu_ms), f"{cell.machine_busy:.0%}",
            _ms(results.latency(key, 50.0)), _ms(results.latency(key, 99.0))]))
    label_w = max(len(label) for label, _ in body)
    widths = [max(len(h), *(len(cells[i]) for _, cells in body)) for i, h in enumerate(heads)]
    lines = [results.header] if results.header else []
    lines.append(" " * label_w + "".join(f"  {h:>{w}}" for h, w in zip(heads, widths, strict=True)))
    for label, cells in body:
        lines.append(f"{label:<{label_w}}"
                     + "".join(f"  {c:>{w}}" for c, w in zip(cells, widths, strict=True)))
    lines.append("CPU ms are per unit of the row (transition, effect, step, commit); 'shared' "
                 "is the server's WAL writer, checkpointer... (they serve every client)")
    ratios = results.ratios()
    shown = {k: f"{v:.2f}x" for k, v in ratios.items() if v is not None}
    if shown:
        lines.append("ratios: " + ", ".join(f"{k} {v}" for k, v in shown.items()))
    if results.sizes:
        s = results.sizes
        lines.append(f"sizes: {s['bytes_per_transition']:,.0f} B per transition row, "
                     f"{s['bytes_per_instance']:,.0f} B per instance row (indexes included), "
                     f"{s['wal_bytes_per_transition']:,.0f} B of WAL per transition")
    return "\n".join(lines)


def verdict(results: PostgresResults) -> list[str]:
    """Say which of the issue's targets hold (reported, not asserted)."""
    ours = results.rate(*HEADLINE)
    times = results.ratios()["dbos"]
    p50 = results.latency(LATENCY_CELL, 50.0)
    checks = [
        (">= 8,000 transitions/s with 4 processes", ours,
         None if ours is None else ours >= TARGETS["transitions_per_s_4_processes"]),
        (">= 20x DBOS", times, None if times is None else times >= TARGETS["times_dbos"]),
        ("p50 < 2 ms (1 sender)", p50, None if p50 is None else p50 < TARGETS["p50_ms"]),
    ]
    parts = []
    for label, value, ok in checks:
        shown = "not measured" if value is None else (f"{value:,.0f}" if value >= 100 else f"{value:.2f}")
        parts.append(f"{label}: {shown} {'?' if ok is None else 'ok' if ok else 'MISSED'}")
    held = all(ok for _, _, ok in checks)
    return ["targets " + ("hold" if held else "do NOT all hold") + ":", *(f"  {p}" for p in parts)]


def to_json(results: PostgresResults) -> dict[str, Any]:
    """Every cell (``null`` when not measured), latencies, CPU split, ratios, sizes, settings."""
    rows: dict[str, dict[str, float | None]] = {}
    cpu: dict[str, dict[str, dict[str, float | None]]] = {}
    for row, col in CELLS:
        rows.setdefault(row, {})[col] = _num(results.rate(row, col), 1)
        cell = results.cells.get((row, col))
        cpu.setdefault(row, {})[col] = None if cell is None else {  # type: ignore[assignment]
            "client": _num(cell.client_cpu_ms, 4), "server": _num(cell.server_cpu_ms, 4),
            "shared": _num(cell.background_cpu_ms, 4), "machine_busy": _num(cell.machine_busy, 3),
        }
    latency = {col: {"p50": _num(results.latency(("statekeeper", col), 50.0), 3),
                     "p99": _num(results.latency(("statekeeper", col), 99.0), 3)}
               for (row, col) in CELLS if row == "statekeeper"}
    data: dict[str, Any] = {
        "transitions_per_s": rows["statekeeper"],
        "latency_ms": {**latency[LATENCY_CELL[1]], "by_cell": latency},
        "effects_per_s": rows["effects"],
        "peers": {"dbos_steps_per_s": rows["dbos"], "postgres_commits_per_s": rows["postgres"]},
        "cpu_ms_per_unit": cpu,
        "ratios": {k: _num(v, 2) for k, v in results.ratios().items()},
        "targets": dict(TARGETS),
        "sizes": results.sizes,
        "errors": {f"{row}/{col}": text for (row, col), text in results.errors.items()},
        "server": dict(results.server),
        "settings": dict(results.settings),
        "versions": dict(results.versions),
        "notes": list(results.notes),
    }
    return data


def write_json(results: PostgresResults, path: str | Path) -> None:
    """Write :func:`to_json` to ``path``."""
    Path(path).write_text(json.dumps(to_json(results), indent=2) + "\n", encoding="utf-8")
