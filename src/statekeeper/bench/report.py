"""Turning dispatch results into the printed table, the targets verdict and the JSON file.

Kept apart from the measuring so the output formats can be tested and changed without running
a benchmark.  A cell is either a number or a status word ("n/a": the library cannot express the
shape; "mismatch": it computed different states and was not timed; "error": it raised).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .shapes import SHAPE_NAMES

__all__ = [
    "BASELINE",
    "NARROW",
    "ROWS",
    "TARGETS",
    "Results",
    "format_table",
    "to_json",
    "verdict",
    "write_json",
]

BASELINE = "statekeeper"
ROWS: tuple[str, ...] = (*SHAPE_NAMES, "create_us", "bytes_per_instance")
_LABELS = {
    "flat3": "flat3 (ns/event)",
    "flat20": "flat20 (ns/event)",
    "compound": "compound (ns/event)",
    "parallel": "parallel (ns/event)",
    "create_us": "create (us/instance)",
    "bytes_per_instance": "memory (bytes/inst)",
}
#: statekeeper's targets: row -> (ceiling, how it is written in the verdict).
TARGETS: dict[str, tuple[float, str]] = {
    "flat3": (1000.0, "flat <=1000 ns/event"),
    "flat20": (1000.0, "flat <=1000 ns/event"),
    "compound": (3000.0, "compound <=3000 ns/event"),
    "parallel": (6000.0, "parallel <=6000 ns/event"),
    "create_us": (2.0, "create <=2 us"),
    "bytes_per_instance": (1000.0, "<=1 KB (1000 B) per instance"),
}

#: A win by less than this ratio is flagged as narrow: it can flip between runs.
NARROW = 1.10

Cell = float | str


@dataclass
class Results:
    """Everything one dispatch run measured, by row then library (column order kept)."""

    libraries: list[str]
    versions: dict[str, str] = field(default_factory=dict)
    cells: dict[str, dict[str, Cell]] = field(default_factory=lambda: {row: {} for row in ROWS})
    notes: list[str] = field(default_factory=list)
    header: str = ""

    def value(self, row: str, library: str) -> float | None:
        """Return the measured number, or ``None`` for a status cell or a missing one."""
        cell = self.cells[row].get(library)
        return cell if isinstance(cell, float) else None


def _number(row: str, value: float) -> str:
    if row == "create_us":
        return f"{value:,.2f}"
    return f"{value:,.0f}"


def _ratio(ratio: float) -> str:
    if ratio >= 100:
        return f"{ratio:,.0f}x"
    if ratio >= 0.95:
        return f"{ratio:.1f}x"
    return f"{ratio:.2f}x"


def _cell(results: Results, row: str, library: str) -> str:
    cell = results.cells[row].get(library, "-")
    if not isinstance(cell, float):
        return cell
    text = _number(row, cell)
    base = results.value(row, BASELINE)
    if library != BASELINE and base:
        text += f" ({_ratio(cell / base)})"
    return text


def format_table(results: Results) -> str:
    """Format the table: rows are shapes, create and memory; columns are libraries."""
    heads = [f"{lib} {results.versions.get(lib, '')}".strip() for lib in results.libraries]
    body = [[_cell(results, row, lib) for lib in results.libraries] for row in ROWS]
    label_w = max(len(label) for label in _LABELS.values())
    widths = [max(len(heads[i]), *(len(line[i]) for line in body)) for i in range(len(heads))]
    lines = []
    if results.header:
        lines.append(results.header)
    lines.append(" " * label_w + "".join(f"  {h:>{w}}" for h, w in zip(heads, widths, strict=True)))
    for row, line in zip(ROWS, body, strict=True):
        cells = "".join(f"  {c:>{w}}" for c, w in zip(line, widths, strict=True))
        lines.append(f"{_LABELS[row]:<{label_w}}{cells}")
    lines.append("ratios are peer/statekeeper: above 1.0x the peer is slower (or bigger).")
    return "\n".join(lines)


def verdict(results: Results) -> list[str]:
    """Say whether statekeeper meets its targets and beats every peer in every row."""
    if BASELINE not in results.libraries:
        return ["statekeeper was not run: no targets or comparison to report."]
    parts: dict[str, list[str]] = {}
    for row, (ceiling, label) in TARGETS.items():
        value = results.value(row, BASELINE)
        shown = "not measured" if value is None else _number(row, value)
        verdict_word = "?" if value is None else ("ok" if value <= ceiling else "MISSED")
        parts.setdefault(label, []).append(f"{row} {shown} {verdict_word}")
    held = all(
        (v := results.value(row, BASELINE)) is not None and v <= ceiling
        for row, (ceiling, _) in TARGETS.items()
    )
    lines = [
        "targets "
        + ("hold" if held else "do NOT all hold")
        + ": "
        + "; ".join(f"{label} [{', '.join(items)}]" for label, items in parts.items())
    ]
    losses, narrow = [], []
    for row in ROWS:
        base = results.value(row, BASELINE)
        for lib in results.libraries:
            peer = results.value(row, lib)
            if lib == BASELINE or peer is None:
                continue
            if base is None or peer <= base:
                losses.append(f"{row} vs {lib}")
            elif peer / base < NARROW:
                narrow.append(f"{row} vs {lib} {_ratio(peer / base)}")
    peers = [lib for lib in results.libraries if lib != BASELINE]
    if not peers:
        lines.append("statekeeper fastest in every column: no peers were run.")
    elif losses:
        lines.append("statekeeper fastest in every column: NO, not on " + ", ".join(losses))
    else:
        lines.append("statekeeper fastest (and smallest) in every column: yes, against " + ", ".join(peers))
    if narrow:
        lines.append(
            "  narrow margins (within run-to-run noise; re-run before quoting): " + ", ".join(narrow)
        )
    return lines


def to_json(results: Results) -> dict[str, dict[str, object]]:
    """Return the JSON form: numbers only; a library without a number is omitted."""

    def numbers(row: str) -> dict[str, object]:
        return {lib: round(v, 3) for lib in results.libraries
                if (v := results.value(row, lib)) is not None}  # fmt: skip

    return {
        "shapes": {shape: numbers(shape) for shape in SHAPE_NAMES},
        "create_us": numbers("create_us"),
        "bytes_per_instance": numbers("bytes_per_instance"),
    }


def write_json(results: Results, path: str | Path) -> None:
    """Write :func:`to_json` to ``path``."""
    Path(path).write_text(json.dumps(to_json(results), indent=2) + "\n", encoding="utf-8")
