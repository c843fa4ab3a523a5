"""docs/scale-out.md and docs/postgres.md say what ``benchmarks/postgres.json`` says.

The capacity model is derived from the committed PostgreSQL run; a new run committed without
the docs brought up to it (or a figure edited by hand) fails here.  A figure is compared at
the precision the doc shows it, with room for the JSON's own rounding (CPU to 4 decimals,
machine busy to 3): ``0.075`` must be within half a thousandth of ``0.0755`` plus that.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCALE_OUT = (ROOT / "docs" / "scale-out.md").read_text(encoding="utf-8")
DATA: Any = json.loads((ROOT / "benchmarks" / "postgres.json").read_text(encoding="utf-8"))


def _section(title: str) -> str:
    start = SCALE_OUT.index(f"## {title}\n")
    end = SCALE_OUT.find("\n## ", start + 1)
    return SCALE_OUT[start : end if end != -1 else None]


def _table(section: str) -> dict[str, list[str]]:
    """Rows of the first Markdown table in ``section``, keyed by their first cell."""
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


def _check(cell: str, actual: float, what: str, json_rounding: float = 0.0) -> None:
    """``cell`` shows ``actual`` to its last digit (a percentage: ``actual`` is a fraction)."""
    text = re.sub(r"^about |[*,]| ms| B|/s", "", cell.strip())
    if text.endswith("%"):
        text, actual, json_rounding = text[:-1], actual * 100, json_rounding * 100
    decimals = len(text.split(".")[1]) if "." in text else 0
    half = 0.5 * 10.0**-decimals
    assert abs(float(text) - actual) <= half + json_rounding + 1e-9, (
        f"{what}: doc says {cell}, benchmarks/postgres.json {actual}"
    )


def _pair(cell: str) -> list[str]:
    return [part.strip() for part in cell.split("/")]


def test_measured_table_matches_the_json() -> None:
    table = _table(_section("What was measured"))
    rates, cpu = DATA["transitions_per_s"], DATA["cpu_ms_per_unit"]
    cells = {
        "statekeeper toggle, 1 process, 1 sender (transitions)": "1_process_1_sender",
        "statekeeper toggle, 1 process x 16 senders": "1_process",
        "statekeeper toggle, 2 processes x 16 senders": "2_processes",
        "statekeeper toggle, 4 processes x 16 senders": "4_processes",
        "statekeeper ledger (data-driven), 4 processes x 16 senders": "4_processes_ledger",
    }
    for label, key in cells.items():
        rate, client, server, busy = table[label]
        measured = cpu["statekeeper"][key]
        _check(rate, rates[key], f"{key} rate")
        _check(client, measured["client"], f"{key} client CPU", 5e-5)
        _check(server, measured["server"], f"{key} server CPU", 5e-5)
        _check(busy, measured["machine_busy"], f"{key} machine busy", 5e-4)
    effects = table["effects, 1 / 2 worker processes (effects)"]
    for column, field in enumerate(("rate", "client", "server", "machine_busy")):
        for cell, key in zip(_pair(effects[column]), ("1_worker", "2_workers"), strict=True):
            actual = DATA["effects_per_s"][key] if field == "rate" else cpu["effects"][key][field]
            _check(cell, actual, f"effects {key} {field}", 0.0 if field == "rate" else 5e-4)
    for processes, key in (("1 process", "1_process"), ("4 processes", "4_processes")):
        rate, client, server, busy = table[f"DBOS 3.4.0, {processes} x 16 threads (steps)"]
        _check(rate, DATA["peers"]["dbos_steps_per_s"][key], f"DBOS {key} rate")
        _check(client, cpu["dbos"][key]["client"], f"DBOS {key} client CPU", 5e-5)
        assert server == "not found" and cpu["dbos"][key]["server"] == 0.0
        _check(busy, cpu["dbos"][key]["machine_busy"], f"DBOS {key} machine busy", 5e-4)
    for connections, key in (("1 connection", "1_connection"), ("8 connections", "8_connections")):
        rate, client, server, busy = table[f"bare psycopg, {connections}, 1-row commits"]
        _check(rate, DATA["peers"]["postgres_commits_per_s"][key], f"bare {key} rate")
        _check(client, cpu["postgres"][key]["client"], f"bare {key} client CPU", 5e-5)
        _check(server, cpu["postgres"][key]["server"], f"bare {key} server CPU", 5e-5)
        _check(busy, cpu["postgres"][key]["machine_busy"], f"bare {key} machine busy", 5e-4)


def test_capacity_table_matches_the_json() -> None:
    table = _table(_section("The capacity model"))
    cell = DATA["cpu_ms_per_unit"]["statekeeper"]["4_processes"]
    database = cell["server"] + cell["shared"]
    sizes = DATA["sizes"]
    _check(table["client CPU"][0], cell["client"], "client CPU", 5e-5)
    _check(table["database CPU"][0], database, "database CPU", 1e-4)
    per_core = float(re.sub(r"[^0-9.]", "", table["transitions per database core (CPU only)"][0]))
    assert abs(per_core - 1000 / database) <= 0.01 * per_core, per_core  # "about": within 1%
    rows = {
        "transition row, with its primary key and the audit indexes": "bytes_per_transition",
        "instance row, with its indexes": "bytes_per_instance",
        "all tables over the instances, each with its start and 2 transitions": "bytes_total_per_instance",
        "WAL per transition": "wal_bytes_per_transition",
        "WAL per instance start": "wal_bytes_per_start",
    }
    for label, key in rows.items():
        _check(table[label][0], sizes[key], key)


def test_sentences_quote_the_json() -> None:
    latency, ratios = DATA["latency_ms"], DATA["ratios"]
    assert f"p50 {latency['p50']:.2f} ms, p99 {latency['p99']:.2f} ms" in SCALE_OUT
    assert f"{ratios['dbos']:.1f} times DBOS's best" in SCALE_OUT
    assert f"{ratios['postgres_8_connections']:.2f} times the bare commits" in SCALE_OUT
    assert (f"grew {ratios['2_processes_over_1']:.2f}x and {ratios['4_processes_over_1']:.2f}x") in SCALE_OUT
    times = "\N{MULTIPLICATION SIGN}"
    assert f"`R {times} {DATA['sizes']['bytes_per_transition']:,.0f} B` per second" in SCALE_OUT


def test_postgres_status_row_quotes_the_json() -> None:
    row = next(
        line
        for line in (ROOT / "docs" / "postgres.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("| benchmark, `docs/scale-out.md` |")
    )
    rates = DATA["transitions_per_s"]
    assert (
        f"{rates['4_processes']:,.0f} toggle and {rates['4_processes_ledger']:,.0f} data-driven transitions/s"
    ) in row
    assert f"{DATA['ratios']['dbos']:.1f}x DBOS" in row
    assert f"p50 {DATA['latency_ms']['p50']:.2f} ms" in row
