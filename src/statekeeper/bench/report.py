"""Turning dispatch results into the printed tables, the targets verdict, Markdown and JSON.

Kept apart from the measuring so the output formats can be tested and changed without running
a benchmark.  A shape's cell for a library is either a number (median microseconds per event,
CPU and wall) or a status word: "n/a" (the library cannot express the shape; the reason is
kept), "mismatch" (it ended in a different state or data than the reference model: the run
fails) or "error" (it raised).  Ratios are taken to the *fastest peer* (the fastest library
other than statekeeper) on CPU time: statekeeper's ratio below 1.0x means it beat every peer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .data_shapes import DATA_SHAPE_NAMES, DATA_SHAPES
from .shapes import SHAPE_NAMES, SHAPES

__all__ = [
    "ALL_SHAPES",
    "BASELINE",
    "MEMOISED",
    "NOT_MEMOISED",
    "Results",
    "format_markdown",
    "format_table",
    "to_json",
    "verdict",
    "write_json",
]

BASELINE = "statekeeper"
#: Every shape, the data-driven ones first (the ones that say what a real chart costs).
ALL_SHAPES: tuple[str, ...] = (*DATA_SHAPE_NAMES, *SHAPE_NAMES)
MEMOISED = "memoised: a cache turns it into a lookup"
NOT_MEMOISED = "not memoised: guards, assigns and actions run on (almost) every event"
#: Events of the data-driven shapes whose transitions run no guard and no action, so a step
#: cache may serve them; every other event runs behaviour.
_STRUCTURAL = {"guarded_compound": "resume", "order": "retry"}

#: statekeeper's targets on CPU per event (issue 17): shape -> microseconds.
CEILINGS_US: dict[str, float] = {
    "guarded_flat": 2.0, "order": 5.0,
    "flat3": 1.0, "flat20": 1.0, "compound": 3.0, "parallel": 6.0,
}  # fmt: skip
#: On every data-driven shape, statekeeper's CPU per event over the fastest peer's, at most.
PEER_RATIO_TARGET = 0.5


@dataclass
class Results:
    """Everything one dispatch run measured, by shape then library (column order kept)."""

    libraries: list[str]
    versions: dict[str, str] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    cpu_us: dict[str, dict[str, float]] = field(default_factory=dict)
    wall_us: dict[str, dict[str, float]] = field(default_factory=dict)
    events: dict[str, dict[str, int]] = field(default_factory=dict)
    status: dict[str, dict[str, str]] = field(default_factory=dict)
    why: dict[str, dict[str, str]] = field(default_factory=dict)
    create_us: dict[str, float] = field(default_factory=dict)
    bytes_per_instance: dict[str, float] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    header: str = ""

    def mark(self, shape: str, library: str, status: str, why: str) -> None:
        """Record a status cell ("n/a", "error", "mismatch") and the reason for it."""
        self.status.setdefault(shape, {})[library] = status
        self.why.setdefault(shape, {})[library] = why

    def fastest_peer(self, shape: str) -> str | None:
        """The library other than statekeeper with the least CPU per event on ``shape``."""
        peers = {lib: v for lib, v in self.cpu_us.get(shape, {}).items() if lib != BASELINE}
        return min(peers, key=peers.__getitem__) if peers else None

    def ratio(self, shape: str, library: str) -> float | None:
        """``library``'s CPU per event over the fastest peer's on ``shape``."""
        peer = self.fastest_peer(shape)
        value = self.cpu_us.get(shape, {}).get(library)
        if peer is None or value is None:
            return None
        return value / self.cpu_us[shape][peer]


def _us(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _ratio(ratio: float) -> str:
    if ratio >= 100:
        return f"{ratio:,.0f}x"
    if ratio >= 0.95:
        return f"{ratio:.1f}x"
    return f"{ratio:.2f}x"


def _label(shape: str) -> str:
    return f"{shape} (memoised)" if shape in SHAPES else shape


def _cell(results: Results, shape: str, library: str, wall: bool = False) -> str:
    status = results.status.get(shape, {}).get(library)
    if status is not None:
        return status
    value = (results.wall_us if wall else results.cpu_us).get(shape, {}).get(library)
    if value is None:
        return "-"
    text = _us(value)
    ratio = None if wall else results.ratio(shape, library)
    return text if ratio is None else f"{text} ({_ratio(ratio)})"


def _grid(labels: list[str], heads: list[str], body: list[list[str]]) -> list[str]:
    label_w = max(len(label) for label in labels)
    widths = [max(len(heads[i]), *(len(row[i]) for row in body)) for i in range(len(heads))]
    lines = [" " * label_w + "".join(f"  {h:>{w}}" for h, w in zip(heads, widths, strict=True))]
    for label, row in zip(labels, body, strict=True):
        lines.append(f"{label:<{label_w}}" + "".join(
            f"  {c:>{w}}" for c, w in zip(row, widths, strict=True)))  # fmt: skip
    return lines


def format_table(results: Results) -> str:
    """Format the CPU table (with ratios), the wall table, and creation and memory rows."""
    heads = [f"{lib} {results.versions.get(lib, '')}".strip() for lib in results.libraries]
    labels = [_label(shape) for shape in ALL_SHAPES]
    lines = [results.header] if results.header else []
    lines.append("CPU microseconds per event, median (ratio to the fastest peer on CPU; "
                 "statekeeper below 1.0x beats every peer):")  # fmt: skip
    lines += _grid(labels, heads, [[_cell(results, s, lib) for lib in results.libraries]
                                   for s in ALL_SHAPES])  # fmt: skip
    lines.append("wall microseconds per event, median of the same repetitions:")
    lines += _grid(labels, heads, [[_cell(results, s, lib, wall=True) for lib in results.libraries]
                                   for s in ALL_SHAPES])  # fmt: skip
    extra = [
        ["create (us/instance)"] + [_plain(results.create_us.get(lib), 2) for lib in results.libraries],
        ["memory (bytes/inst)"] + [_plain(results.bytes_per_instance.get(lib), 0)
                                   for lib in results.libraries],
    ]  # fmt: skip
    lines += _grid([row[0] for row in extra], heads, [row[1:] for row in extra])
    lines.append(f"(memoised) shapes have no guards, data or actions ({MEMOISED}); "
                 "the data-driven shapes above them are what a real chart costs.")
    return "\n".join(lines)


def _plain(value: float | None, decimals: int) -> str:
    return "-" if value is None else f"{value:,.{decimals}f}"


def format_markdown(results: Results) -> str:
    """The README's table: CPU per event with ratios to the fastest peer, peers by speed."""
    order = sorted(results.libraries, key=lambda lib: (lib != BASELINE, _rank(results, lib)))
    head = "| CPU µs per event (ratio to the fastest peer) | " + " | ".join(order) + " |"
    lines = [head, "|---" + "|---:" * len(order) + "|"]
    for shape in ALL_SHAPES:
        cells = []
        for lib in order:
            text = _cell(results, shape, lib)
            cells.append(f"**{text}**" if lib == BASELINE and text[:1].isdigit() else text)
        lines.append(f"| {_label(shape)} | " + " | ".join(cells) + " |")
    for label, row, decimals in (("create (µs/instance)", results.create_us, 2),
                                 ("memory (bytes/instance)", results.bytes_per_instance, 0)):
        lines.append(f"| {label} | " + " | ".join(_plain(row.get(lib), decimals)
                                                  for lib in order) + " |")  # fmt: skip
    return "\n".join(lines)


def _rank(results: Results, library: str) -> float:
    """Sort key for Markdown columns: the library's geometric-mean ratio over its shapes."""
    ratios = [r for shape in ALL_SHAPES if (r := results.ratio(shape, library)) is not None]
    if not ratios:
        return float("inf")
    product = 1.0
    for r in ratios:
        product *= r
    return float(product ** (1 / len(ratios)))


def verdict(results: Results) -> list[str]:
    """Say whether statekeeper meets issue 17's targets, shape by shape."""
    if BASELINE not in results.libraries:
        return ["statekeeper was not run: no targets to report."]
    lines = []
    for shape in ALL_SHAPES:
        value = results.cpu_us.get(shape, {}).get(BASELINE)
        if value is None:
            lines.append(f"  {shape}: statekeeper not measured")
            continue
        checks = []
        if shape in CEILINGS_US:
            ceiling = CEILINGS_US[shape]
            checks.append(f"<= {ceiling:g} us: {'ok' if value <= ceiling else 'MISSED'}")
        ratio = results.ratio(shape, BASELINE)
        if shape in DATA_SHAPES and ratio is not None:
            ok = ratio <= PEER_RATIO_TARGET
            checks.append(f"<= {PEER_RATIO_TARGET}x the fastest peer "
                          f"({results.fastest_peer(shape)}): {'ok' if ok else 'MISSED'}")  # fmt: skip
        shown = f"{_us(value)} us" + (f" ({_ratio(ratio)})" if ratio is not None else "")
        lines.append(f"  {shape}: {shown}; " + "; ".join(checks))
    held = not any("MISSED" in line or "not measured" in line for line in lines)
    return [f"statekeeper targets (CPU per event) {'hold' if held else 'do NOT all hold'}:", *lines]


def _shape_json(results: Results, shape: str) -> dict[str, Any]:
    def numbers(table: dict[str, dict[str, float]]) -> dict[str, float]:
        row = table.get(shape, {})
        return {lib: round(row[lib], 4) for lib in results.libraries if lib in row}

    static = shape in SHAPES
    memo = MEMOISED if static else NOT_MEMOISED
    if shape in _STRUCTURAL:
        memo += f" (its '{_STRUCTURAL[shape]}' events run none and may be served by a cache)"
    ratios = {lib: round(r, 4) for lib in results.libraries
              if (r := results.ratio(shape, lib)) is not None}  # fmt: skip
    return {
        "kind": "static" if static else "data-driven",
        "description": SHAPES[shape].description if static else DATA_SHAPES[shape].description,
        "memoised": static,
        "memo": memo,
        "events": dict(results.events.get(shape, {})),
        "cpu_us_per_event": numbers(results.cpu_us),
        "wall_us_per_event": numbers(results.wall_us),
        "fastest_peer": results.fastest_peer(shape),
        "cpu_ratio_to_fastest_peer": ratios,
        "not_measured": {lib: f"{results.status[shape][lib]}: {results.why[shape][lib]}"
                         for lib in results.status.get(shape, {})},
    }


def to_json(results: Results) -> dict[str, Any]:
    """Return the JSON form: shapes (data-driven first), creation, memory, machine, versions."""
    return {
        "benchmark": "dispatch",
        "command": "python -m statekeeper.bench dispatch --json benchmarks/dispatch.json",
        "timing": ("per library and shape, the median of interleaved (round-robin) repetitions, "
                   "each a fresh instance running the whole stream with gc paused; CPU is "
                   "time.thread_time_ns, wall is time.perf_counter_ns; ratios are CPU over the "
                   "fastest peer's; every timed instance's final state and data were checked "
                   "against the reference model"),
        "machine": results.machine,
        "versions": results.versions,
        "settings": results.settings,
        "shapes": {shape: _shape_json(results, shape) for shape in ALL_SHAPES},
        "create_us": {lib: round(v, 3) for lib, v in results.create_us.items()},
        "bytes_per_instance": {lib: round(v, 3) for lib, v in results.bytes_per_instance.items()},
        "notes": results.notes,
    }


def write_json(results: Results, path: str | Path) -> None:
    """Write :func:`to_json` to ``path``."""
    Path(path).write_text(json.dumps(to_json(results), indent=2) + "\n", encoding="utf-8")
