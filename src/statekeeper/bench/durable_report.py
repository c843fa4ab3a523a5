"""Turning ``bench durable`` results into the printed table, the targets verdict and the JSON.

Kept apart from the measuring (as :mod:`.report` is for ``dispatch``) so the formats can be
tested without running a benchmark.  A cell is a rate or a status word: ``"n/a"`` (the peer is
not installed, or was not selected) or ``"error"`` (it raised; the reason is in the notes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CHART_ROWS",
    "COLUMNS",
    "PEERS",
    "SK",
    "TARGETS",
    "DurableResults",
    "format_table",
    "statekeeper_version",
    "to_json",
    "verdict",
    "write_json",
]

SK = "statekeeper"
#: JSON key of each peer row, in table order.
PEERS: tuple[str, ...] = ("xstate_statemachine_full", "xstate_statemachine_normal", "dbos_steps_per_s")
ROWS: tuple[str, ...] = (SK, *PEERS)
COLUMNS: tuple[str, ...] = ("1_sender", "16_senders")
_LABELS = {
    SK: "statekeeper, FULL (transitions/s)",
    "xstate_statemachine_full": "xstate-statemachine, forced FULL (transitions/s)",
    "xstate_statemachine_normal": "xstate-statemachine, as shipped NORMAL (transitions/s)",
    "dbos_steps_per_s": "DBOS, 3-step workflow (steps/s)",
}
_DISTRIBUTIONS = {
    SK: SK,
    "xstate_statemachine_full": "xstate-statemachine",
    "xstate_statemachine_normal": "xstate-statemachine",
    "dbos_steps_per_s": "dbos",
}
#: Rows of the data-driven chart's tables (``chart`` and ``starts``), in table order.
CHART_ROWS: tuple[str, ...] = (SK, "xstate_statemachine_full", "xstate_statemachine_normal")
_CHART_LABELS = {
    SK: "statekeeper, FULL",
    "xstate_statemachine_full": "xstate-statemachine, forced FULL",
    "xstate_statemachine_normal": "xstate-statemachine, as shipped NORMAL",
}
#: table -> (title, JSON key, unit key, CPU key)
_CHART_TABLES = {
    "chart": ("data-driven chart (guards, assigns, an effect and a timer every 4 adds), "
              "committed transitions/s", "data_driven_chart", "transitions_per_s",
              "cpu_us_per_transition"),
    "starts": ("starts of the data-driven chart, durable starts/s", "starts", "starts_per_s",
               "cpu_us_per_start"),
}
#: The issue's targets, checked by :func:`verdict`.
TARGETS = {
    "chart_16_senders": 15_000.0,  # data-driven chart, transitions/s with 16 senders at FULL
    "chart_xstate_statemachine_full": 5.0,  # times xstate-statemachine forced to FULL, same chart
    "starts_16_senders": 10_000.0,  # durable starts per second
    "16_senders": 20_000.0,  # transitions/s with concurrent senders at synchronous=FULL
    "xstate_statemachine_full": 5.0,  # times xstate-statemachine forced to FULL
    "dbos_steps_per_s": 50.0,  # times DBOS steps/s
    "p50_ms": 1.0,  # single-event send-to-commit latency, under
}

Cell = float | str


@dataclass
class DurableResults:
    """Everything one ``durable`` run measured."""

    cells: dict[str, dict[str, Cell]] = field(
        default_factory=lambda: {row: {col: "n/a" for col in COLUMNS} for row in ROWS}
    )
    versions: dict[str, str] = field(default_factory=dict)
    p50_ms: float | None = None
    p99_ms: float | None = None
    batch: float | None = None  # transitions per group commit with 16 senders
    million: dict[str, float] | None = None  # count, bytes, per_s, seconds
    #: transitions/s of the engine fed by one plain thread (no client), by synchronous level
    engine: dict[str, float] = field(default_factory=dict)
    #: rows/s of bare SQLite commits at FULL, by rows per commit (what the disk allows)
    disk: dict[str, float] = field(default_factory=dict)
    header: str = ""
    notes: list[str] = field(default_factory=list)
    #: the data-driven chart's tables, ``chart`` and ``starts``: row -> column -> rate
    tables: dict[str, dict[str, dict[str, Cell]]] = field(
        default_factory=lambda: {"chart": {}, "starts": {}})
    #: CPU microseconds per unit of the same cells
    cpu_us: dict[str, dict[str, dict[str, float]]] = field(
        default_factory=lambda: {"chart": {}, "starts": {}})

    def table_value(self, table: str, row: str, col: str) -> float | None:
        cell = self.tables[table].get(row, {}).get(col)
        return cell if isinstance(cell, float) else None

    def table_ratio(self, table: str, peer: str) -> float | None:
        """Statekeeper with 16 senders over the peer's best column of ``table``."""
        ours = self.table_value(table, SK, "16_senders")
        found = [v for c in COLUMNS if (v := self.table_value(table, peer, c)) is not None]
        return ours / max(found) if ours is not None and found else None

    def cpu_ratio(self, table: str, peer: str) -> float | None:
        """The peer's CPU per unit over statekeeper's, both with 16 senders."""
        ours = self.cpu_us[table].get(SK, {}).get("16_senders")
        theirs = self.cpu_us[table].get(peer, {}).get("16_senders")
        return theirs / ours if ours and theirs else None

    def value(self, row: str, col: str) -> float | None:
        cell = self.cells[row].get(col)
        return cell if isinstance(cell, float) else None

    def best(self, row: str) -> float | None:
        """The row's best rate over the sender counts (a peer is compared at its best)."""
        found = [v for col in COLUMNS if (v := self.value(row, col)) is not None]
        return max(found) if found else None

    def ratio(self, peer: str) -> float | None:
        """The ratio statekeeper (16 senders) / the peer's best; ``None`` if either is missing."""
        ours, theirs = self.value(SK, "16_senders"), self.best(peer)
        return ours / theirs if ours is not None and theirs else None

    def disk_ratios(self) -> tuple[float | None, float | None]:
        """Return statekeeper (16 senders) over bare SQLite at 1 and at 16 rows per commit."""
        ours = self.value(SK, "16_senders")
        if ours is None:
            return None, None
        single, grouped = self.disk.get("1_row_per_commit"), self.disk.get("16_rows_per_commit")
        return (ours / single if single else None, ours / grouped if grouped else None)


def _rate(cell: Cell) -> str:
    return f"{cell:,.0f}" if isinstance(cell, float) else cell


def _ratio(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}x" if value >= 100 else f"{value:.1f}x"


def format_table(results: DurableResults) -> str:
    """Rows: statekeeper and each peer; columns: 1 sender, 16 senders, best, ratio."""
    heads = ("1 sender", "16 senders", "best", "statekeeper/peer")
    body = []
    for row in ROWS:
        version = results.versions.get(_DISTRIBUTIONS[row], "")
        label = _LABELS[row].replace(",", f" {version},", 1) if version else _LABELS[row]
        best = results.best(row)
        cells = [_rate(results.cells[row][c]) for c in COLUMNS]
        cells += [_rate(best) if best is not None else "-", "-" if row == SK else _ratio(results.ratio(row))]
        body.append((label, cells))
    label_w = max(len(label) for label, _ in body)
    widths = [max(len(h), *(len(cells[i]) for _, cells in body)) for i, h in enumerate(heads)]
    lines = [results.header] if results.header else []
    lines.append(" " * label_w + "".join(f"  {h:>{w}}" for h, w in zip(heads, widths, strict=True)))
    for label, cells in body:
        lines.append(
            f"{label:<{label_w}}" + "".join(f"  {c:>{w}}" for c, w in zip(cells, widths, strict=True))
        )
    lines.append("statekeeper/peer = statekeeper with 16 senders over the peer's best column.")
    if results.p50_ms is not None and results.p99_ms is not None:
        lines.append(
            f"send-to-commit latency, 1 sender, wait=True: p50 {results.p50_ms:.3f} ms, "
            f"p99 {results.p99_ms:.3f} ms"
        )
    if results.batch is not None:
        lines.append(f"group commit with 16 senders: {results.batch:.1f} transitions per fsync")
    if results.engine:
        levels = ", ".join(f"{v:,.0f}/s at {k}" for k, v in results.engine.items())
        lines.append(f"the engine fed by one thread (no client, groups of 16): {levels}")
    if results.disk:
        lines.append("bare SQLite at FULL, one thread: " + ", ".join(
            f"{v:,.0f} rows/s with {k.replace('_', ' ')}" for k, v in results.disk.items()))
        single, grouped = results.disk_ratios()
        if single is not None and grouped is not None:
            lines.append(f"statekeeper with 16 senders: {single:.2f}x the bare single-row "
                         f"commits, {grouped:.0%} of the bare rows committed 16 at a time")
    if results.million is not None:
        m = results.million
        lines.append(
            f"{m['count']:,.0f} instances: {m['bytes'] / 1e6:,.1f} MB "
            f"({m['bytes'] / m['count']:,.0f} B each), created at {m['per_s']:,.0f}/s "
            f"({m['seconds']:,.1f} s)"
        )
    for table in _CHART_TABLES:
        lines.extend(_chart_table(results, table))
    return "\n".join(lines)


def _chart_table(results: DurableResults, table: str) -> list[str]:
    """The ``chart`` or ``starts`` table: rate and CPU per unit by sender count, and ratios."""
    rows = results.tables[table]
    if not rows:
        return []
    title = _CHART_TABLES[table][0]
    heads = ("1 sender", "16 senders", "us CPU/unit (16)", "statekeeper/peer", "CPU peer/sk")
    body = []
    for row in CHART_ROWS:
        if row not in rows:
            continue
        version = results.versions.get(_DISTRIBUTIONS[row], "")
        label = _CHART_LABELS[row].replace(",", f" {version},", 1) if version else _CHART_LABELS[row]
        cpu = results.cpu_us[table].get(row, {}).get("16_senders")
        cells = [_rate(rows[row].get(c, "n/a")) for c in COLUMNS]
        cells.append("-" if cpu is None else f"{cpu:,.0f}")
        cells += (["-", "-"] if row == SK else
                  [_ratio(results.table_ratio(table, row)), _ratio(results.cpu_ratio(table, row))])
        body.append((label, cells))
    label_w = max(len(label) for label, _ in body)
    widths = [max(len(h), *(len(cells[i]) for _, cells in body)) for i, h in enumerate(heads)]
    lines = ["", title]
    lines.append(" " * label_w + "".join(f"  {h:>{w}}" for h, w in zip(heads, widths, strict=True)))
    for label, cells in body:
        lines.append(
            f"{label:<{label_w}}" + "".join(f"  {c:>{w}}" for c, w in zip(cells, widths, strict=True))
        )
    return lines


def _chart_checks(results: DurableResults) -> list[tuple[str, float | None, bool | None]]:
    """The data-driven chart's targets, for the tables this run measured."""
    checks: list[tuple[str, float | None, bool | None]] = []
    if results.tables["chart"]:
        many = results.table_value("chart", SK, "16_senders")
        goal = TARGETS["chart_16_senders"]
        checks.append((f">= {goal:,.0f} data-driven transitions/s with 16 senders", many,
                       None if many is None else many >= goal))
        ratio = results.table_ratio("chart", "xstate_statemachine_full")
        goal = TARGETS["chart_xstate_statemachine_full"]
        checks.append((f">= {goal:.0f}x xstate-statemachine FULL on the data-driven chart", ratio,
                       None if ratio is None else ratio >= goal))
    if results.tables["starts"]:
        starts = results.table_value("starts", SK, "16_senders")
        goal = TARGETS["starts_16_senders"]
        checks.append((f">= {goal:,.0f} starts/s with 16 senders", starts,
                       None if starts is None else starts >= goal))
    return checks


def verdict(results: DurableResults) -> list[str]:
    """Say which of the issue's targets hold."""
    checks: list[tuple[str, float | None, bool | None]] = []
    many = results.value(SK, "16_senders")
    toggle = any(isinstance(c, float) or c == "error" for row in ROWS
                 for c in results.cells[row].values())
    if toggle or not (results.tables["chart"] or results.tables["starts"]):
        checks.extend(_toggle_checks(results, many))
    checks.extend(_chart_checks(results))
    parts = []
    for label, value, ok in checks:
        shown = "not measured" if value is None else (f"{value:,.0f}" if value >= 100 else f"{value:.2f}")
        parts.append(f"{label}: {shown} {'?' if ok is None else 'ok' if ok else 'MISSED'}")
    held = all(ok for _, _, ok in checks)
    return ["targets " + ("hold" if held else "do NOT all hold") + ":", *(f"  {p}" for p in parts)]


def _toggle_checks(results: DurableResults,
                   many: float | None) -> list[tuple[str, float | None, bool | None]]:
    """The toggle's targets (issue 4's)."""
    checks: list[tuple[str, float | None, bool | None]] = []
    checks.append(
        (
            f">= {TARGETS['16_senders']:,.0f} transitions/s with 16 senders",
            many,
            None if many is None else many >= TARGETS["16_senders"],
        )
    )
    for peer, name in (
        ("xstate_statemachine_full", "xstate-statemachine FULL"),
        ("dbos_steps_per_s", "DBOS"),
    ):
        ratio = results.ratio(peer)
        checks.append(
            (f">= {TARGETS[peer]:.0f}x {name}", ratio, None if ratio is None else ratio >= TARGETS[peer])
        )
    p50 = results.p50_ms
    checks.append((f"p50 < {TARGETS['p50_ms']:g} ms", p50, None if p50 is None else p50 < TARGETS["p50_ms"]))
    return checks


def _num(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def to_json(results: DurableResults) -> dict[str, Any]:
    """The documented JSON (peers at their best; ``null`` when not measured), plus extras."""
    data: dict[str, Any] = {
        "transitions_per_s": {col: _num(results.value(SK, col), 1) for col in COLUMNS},
        "latency_ms": {"p50": _num(results.p50_ms, 3), "p99": _num(results.p99_ms, 3)},
        "peers": {peer: _num(results.best(peer), 1) for peer in PEERS},
    }
    if results.million is not None:
        m = results.million
        data["million_instances"] = {
            "count": int(m["count"]),
            "bytes": int(m["bytes"]),
            "per_s": round(m["per_s"], 1),
        }
    data["peers_by_senders"] = {
        peer: {col: _num(results.value(peer, col), 1) for col in COLUMNS} for peer in PEERS
    }
    data["ratios"] = {peer: _num(results.ratio(peer), 2) for peer in PEERS}
    if results.batch is not None:
        data["transitions_per_group_commit"] = round(results.batch, 2)
    if results.engine:
        data["engine_alone_per_s"] = {k: round(v, 1) for k, v in results.engine.items()}
    if results.disk:
        data["sqlite_alone_rows_per_s"] = {k: round(v, 1) for k, v in results.disk.items()}
        single, grouped = results.disk_ratios()
        data["ratios"]["sqlite_1_row_per_commit"] = _num(single, 2)
        data["ratios"]["sqlite_16_rows_per_commit"] = _num(grouped, 2)
    for table, (_, key, unit, cpu_key) in _CHART_TABLES.items():
        rows = results.tables[table]
        if not rows:
            continue
        peers = [row for row in CHART_ROWS if row != SK and row in rows]
        data[key] = {
            unit: {row: {col: _num(results.table_value(table, row, col), 1) for col in COLUMNS}
                   for row in CHART_ROWS if row in rows},
            cpu_key: {row: {col: _num(cols.get(col), 1) for col in COLUMNS}
                      for row, cols in results.cpu_us[table].items()},
            "ratios": {peer: _num(results.table_ratio(table, peer), 2) for peer in peers},
            "cpu_ratios": {peer: _num(results.cpu_ratio(table, peer), 2) for peer in peers},
        }
    data["versions"] = dict(results.versions)
    return data


def _measured(value: Any) -> bool:
    """Whether a JSON value holds any number (a part this run did not measure holds none)."""
    if isinstance(value, dict):
        return any(_measured(v) for v in value.values())
    return isinstance(value, int | float) and not isinstance(value, bool)


def write_json(results: DurableResults, path: str | Path, *, merge: bool = False) -> None:
    """Write :func:`to_json` to ``path``.

    With ``merge``, an existing file keeps every key this run measured nothing for (a run of
    ``--only chart,starts`` updates those tables and leaves the toggle's figures as they were
    measured); ``versions`` is the union of both.
    """
    data = to_json(results)
    target = Path(path)
    if merge and target.exists():
        old = json.loads(target.read_text(encoding="utf-8"))
        versions = {**old.get("versions", {}), **data.pop("versions")}
        for key, value in data.items():
            if key not in old or _measured(value):
                old[key] = value
        old["versions"] = versions
        data = old
    target.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def statekeeper_version() -> str:
    """The distribution's version, else the package's ``__version__`` (a source tree)."""
    import importlib.metadata

    import statekeeper

    try:
        return importlib.metadata.version("statekeeper")
    except importlib.metadata.PackageNotFoundError:
        return str(getattr(statekeeper, "__version__", "?"))
