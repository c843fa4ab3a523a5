"""The README's performance tables say what the committed benchmark files say.

The README quotes ``benchmarks/dispatch.json`` and ``benchmarks/durable.json``; a new run
committed without the README updated (or the other way round) fails here.  Each figure is
compared at the precision the README shows it: ``21,978`` must be within half a unit of the
JSON's value, ``0.31`` within half a hundredth.  Ratios may differ by one unit of their last
digit, since the README may compute them from the rounded figures.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from statekeeper.bench.report import ALL_SHAPES
from statekeeper.bench.shapes import SHAPES

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(f"### {title}\n")
    end = README.find("\n#", start + 1)
    return README[start:end if end != -1 else None]


def _table(section: str) -> dict[str, list[str]]:
    """Rows of the first Markdown table in ``section``, keyed by their first cell."""
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        if not line.startswith("|") or line.startswith("|---"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


def _shown(text: str) -> tuple[float, float]:
    """The number a cell shows and half a unit of its last digit."""
    text = text.replace("*", "").replace(",", "").rstrip("x")
    decimals = len(text.split(".")[1]) if "." in text else 0
    return float(text), 0.5 * 10.0**-decimals


def _assert_figure(cell: str, actual: float, what: str, slack: float = 1.0) -> None:
    shown, half = _shown(cell)
    assert abs(shown - actual) <= half * slack + 1e-9, f"{what}: README {cell}, JSON {actual}"


def _load(name: str) -> Any:
    return json.loads((ROOT / "benchmarks" / name).read_text(encoding="utf-8"))


def test_durable_table_matches_benchmarks_durable_json() -> None:
    data = _load("durable.json")
    table = _table(_section("Durable throughput"))
    sk = table["statekeeper, FULL (transitions)"]
    _assert_figure(sk[0], data["transitions_per_s"]["1_sender"], "statekeeper 1 sender")
    _assert_figure(sk[1], data["transitions_per_s"]["16_senders"], "statekeeper 16 senders")
    version = data["versions"]
    peers = {
        f"xstate-statemachine {version['xstate-statemachine']}, forced FULL (transitions)":
            "xstate_statemachine_full",
        f"xstate-statemachine {version['xstate-statemachine']}, as shipped NORMAL (transitions)":
            "xstate_statemachine_normal",
        f"DBOS {version['dbos']}, 3-step workflow (steps)": "dbos_steps_per_s",
    }  # fmt: skip
    for label, key in peers.items():
        assert label in table, f"README durable table has no row {label!r}"
        one, sixteen, ratio = table[label]
        _assert_figure(one, data["peers_by_senders"][key]["1_sender"], f"{key} 1 sender")
        _assert_figure(sixteen, data["peers_by_senders"][key]["16_senders"], f"{key} 16 senders")
        _assert_figure(ratio, data["ratios"][key], f"{key} ratio", slack=2.0)
    bare = table["bare `sqlite3` at FULL, one row per commit (rows)"]
    _assert_figure(bare[0], data["sqlite_alone_rows_per_s"]["1_row_per_commit"], "bare sqlite")
    _assert_figure(bare[2], data["ratios"]["sqlite_1_row_per_commit"], "bare ratio", slack=2.0)


def test_durable_prose_quotes_the_same_run() -> None:
    data = _load("durable.json")
    text = " ".join(_section("Durable throughput").split())
    p50, p99 = data["latency_ms"]["p50"], data["latency_ms"]["p99"]
    latency = re.search(r"latency is ([\d.]+) ms at p50 and ([\d.]+) ms at p99", text)
    assert latency, "README no longer states the latency of the committed run"
    _assert_figure(latency[1], p50, "p50")
    _assert_figure(latency[2], p99, "p99")
    million = data["million_instances"]
    assert f"{round(million['bytes'] / 1e6)} MB" in text
    assert f"created them at {million['per_s']:,.0f} per second" in text
    engine = data["engine_alone_per_s"]
    assert f"{engine['FULL']:,.0f}/s at FULL" in text
    assert f"{engine['OFF']:,.0f}/s with no fsync" in text


def _dispatch_rows() -> list[tuple[str, str | None]]:
    """(README row label, shape or None) for every row of the dispatch table, data-driven first."""
    shapes = [(f"{shape} (memoised)" if shape in SHAPES else shape, shape) for shape in ALL_SHAPES]
    return [*shapes, ("create (µs/instance)", None), ("memory (bytes/instance)", None)]


@pytest.mark.parametrize(("label", "shape"), _dispatch_rows())
def test_dispatch_table_matches_benchmarks_dispatch_json(label: str, shape: str | None) -> None:
    """The README's table is ``--markdown``'s output for the committed ``dispatch.json``."""
    data = _load("dispatch.json")
    section = _section("In-memory dispatch")
    header = next(line for line in section.splitlines() if line.startswith("| CPU µs per event"))
    libraries = [cell.strip() for cell in header.strip().strip("|").split("|")][1:]
    cells = _table(section)[label]
    if shape is None:
        key = "create_us" if label.startswith("create") else "bytes_per_instance"
        for library, cell in zip(libraries, cells, strict=True):
            _assert_figure(cell, data[key][library], f"{label} {library}")
        return
    row = data["shapes"][shape]
    for library, cell in zip(libraries, cells, strict=True):
        if cell == "n/a":
            assert row["not_measured"][library].startswith("n/a"), f"{label}: {library}"
            continue
        match = re.fullmatch(r"\**([\d.,]+) \(([\d.,]+)x\)\**", cell)
        assert match, f"{label}: cannot read {cell!r}"
        _assert_figure(match[1], row["cpu_us_per_event"][library], f"{label} {library}")
        _assert_figure(match[2], row["cpu_ratio_to_fastest_peer"][library],
                       f"{label} {library} ratio", slack=2.0)


def test_wide_table_matches_benchmarks_wide_json() -> None:
    results = _load("wide.json")["results"]
    table = _table(_section("Wide charts"))
    header = [cell.strip() for cell in README[README.index("### Wide charts\n"):].split(
        "\n| |", 1)[1].split("\n", 1)[0].strip("|").split("|")]
    libraries = [cell.strip() for cell in header]
    columns = {"start": "start_s", "one event, every region moves": "tick_s",
               "one event, one region moves": "one_s"}
    checked = 0
    for label, cells in table.items():
        if "regions:" not in label:
            continue
        regions, what = label.removesuffix(" (ms)").split(" regions: ")
        key = columns[what]
        for library, cell in zip(libraries, cells, strict=True):
            measured = results[library][regions.replace(",", "")]
            if cell == "over the cap":
                assert "skipped" in measured, f"{library} {label}"
                continue
            figure = cell.split(" (")[0]
            _assert_figure(figure, measured[key] * 1000, f"{library} {label}")
            checked += 1
    assert checked >= 24, checked


def test_postgres_table_matches_benchmarks_postgres_json() -> None:
    data = _load("postgres.json")
    section = _section("Durable throughput on PostgreSQL")
    table = _table(section)
    rates = data["transitions_per_s"]
    ledger = table["statekeeper, data-driven ledger chart, 16 senders per process (transitions)"]
    _assert_figure(ledger[2], rates["4_processes_ledger"], "statekeeper ledger 4 processes")
    toggle = table["statekeeper, toggle chart (memoised), 16 senders per process (transitions)"]
    for cell, key in zip(toggle[:3], ("1_process", "2_processes", "4_processes"), strict=True):
        _assert_figure(cell, rates[key], f"statekeeper {key}")
    dbos = table["DBOS 3.4.0, 16 threads per process, 3-step workflow (steps)"]
    _assert_figure(dbos[0], data["peers"]["dbos_steps_per_s"]["1_process"], "DBOS 1 process")
    _assert_figure(dbos[2], data["peers"]["dbos_steps_per_s"]["4_processes"], "DBOS 4 processes")
    _assert_figure(dbos[3], data["ratios"]["dbos"], "ratio to DBOS")
    bare = table["bare psycopg, 1-row commits, 1 / 8 connections (commits)"]
    _assert_figure(bare[0], data["peers"]["postgres_commits_per_s"]["1_connection"], "bare 1")
    _assert_figure(bare[2], data["peers"]["postgres_commits_per_s"]["8_connections"], "bare 8")
    _assert_figure(bare[3], data["ratios"]["postgres_8_connections"], "ratio to bare 8")
    assert f"{data['latency_ms']['p50']:.2f} ms at p50" in section
    assert f"{data['latency_ms']['p99']:.2f} ms at p99" in section
    assert f"{data['effects_per_s']['1_worker']:,.0f}/s" in section
    assert data["errors"] == {}
