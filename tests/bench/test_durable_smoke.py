"""Smoke tests for ``python -m statekeeper.bench durable``.

The end-to-end test runs ``--quick --json`` in a subprocess (as a user would) and checks the
documented JSON shape and that every number is positive.  Like the dispatch smoke tests they
never assert on timings: those depend on the machine and its disk.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from statekeeper.bench.__main__ import main
from statekeeper.bench.durable_report import (
    COLUMNS,
    PEERS,
    SK,
    DurableResults,
    format_table,
    to_json,
    verdict,
)
from statekeeper.bench.durable_statekeeper import target

_PEER_MODULES = {
    "xstate_statemachine_full": "xstate_statemachine",
    "xstate_statemachine_normal": "xstate_statemachine",
    "dbos_steps_per_s": "dbos",
}


def _positive_numbers(value: Any, where: str = "$") -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _positive_numbers(item, f"{where}.{key}")
    elif isinstance(value, bool) or not isinstance(value, int | float):
        return
    else:
        assert value > 0, f"{where} = {value!r} is not positive"


@pytest.mark.slow
def test_quick_run_writes_the_documented_json(tmp_path: Path) -> None:
    out = tmp_path / "durable.json"
    done = subprocess.run(
        [sys.executable, "-m", "statekeeper.bench", "durable", "--quick", "--json", str(out),
         "--dir", str(tmp_path / "db")],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "statekeeper/peer" in done.stdout
    assert "[bench durable]" in done.stderr  # progress goes to stderr
    data = json.loads(out.read_text())
    assert set(data["transitions_per_s"]) == {"1_sender", "16_senders"}
    assert set(data["latency_ms"]) == {"p50", "p99"}
    assert set(data["peers"]) == {
        "xstate_statemachine_full",
        "xstate_statemachine_normal",
        "dbos_steps_per_s",
    }
    for col in ("1_sender", "16_senders"):
        assert isinstance(data["transitions_per_s"][col], float)
    for key in ("p50", "p99"):
        assert isinstance(data["latency_ms"][key], float)
    assert data["latency_ms"]["p50"] <= data["latency_ms"]["p99"]
    for peer, module in _PEER_MODULES.items():
        if importlib.util.find_spec(module) is None:
            assert data["peers"][peer] is None  # reported as n/a, not invented
        else:
            assert isinstance(data["peers"][peer], float), (peer, done.stdout)
    assert set(data["engine_alone_per_s"]) == {"FULL", "OFF"}  # the engine fed by one thread
    assert set(data["sqlite_alone_rows_per_s"]) == {"1_row_per_commit", "16_rows_per_commit"}
    assert data["ratios"]["sqlite_1_row_per_commit"] == pytest.approx(
        data["transitions_per_s"]["16_senders"] / data["sqlite_alone_rows_per_s"]["1_row_per_commit"],
        abs=0.01)
    million = data["million_instances"]
    assert million["count"] == 2_000
    assert isinstance(million["bytes"], int)
    _positive_numbers(data)


def test_senders_never_share_an_instance() -> None:
    for instances, senders in ((1_000, 16), (1_000, 1), (17, 16), (16, 16)):
        owner: dict[int, int] = {}
        for k in range(5_000):
            index = target(k, instances, senders)
            assert 0 <= index < instances
            assert owner.setdefault(index, k % senders) == k % senders
        assert len(owner) == instances  # every instance is used


def test_unknown_part_is_a_usage_error() -> None:
    assert main(["durable", "--quick", "--only", "no-such-part"]) == 2


def test_report_ratios_verdict_and_json_of_missing_peers() -> None:
    results = DurableResults()
    results.cells[SK].update({"1_sender": 2_000.0, "16_senders": 24_000.0})
    results.cells["xstate_statemachine_full"].update({"1_sender": 2_000.0, "16_senders": 1_500.0})
    results.cells["dbos_steps_per_s"]["1_sender"] = "error"
    results.p50_ms, results.p99_ms = 0.4, 0.9
    results.million = {"count": 10.0, "bytes": 5_000.0, "per_s": 100.0, "seconds": 0.1}
    table = format_table(results)
    assert "12.0x" in table  # 24,000 over xstate's best column (2,000)
    assert "error" in table and "n/a" in table
    lines = verdict(results)
    assert lines[0] == "targets do NOT all hold:"  # the DBOS ratio was not measured
    assert any("20,000" in line and line.endswith("ok") for line in lines)
    assert any("DBOS" in line and line.endswith("?") for line in lines)
    data = to_json(results)
    assert data["transitions_per_s"] == {"1_sender": 2_000.0, "16_senders": 24_000.0}
    assert data["peers"] == {
        "xstate_statemachine_full": 2_000.0,
        "xstate_statemachine_normal": None,
        "dbos_steps_per_s": None,
    }
    assert data["million_instances"] == {"count": 10, "bytes": 5_000, "per_s": 100.0}
    assert set(data["peers_by_senders"]) == set(PEERS)
    assert all(set(cols) == set(COLUMNS) for cols in data["peers_by_senders"].values())


def test_the_engine_ceiling_is_reported_only_when_measured() -> None:
    results = DurableResults()
    assert "engine fed" not in format_table(results)
    assert "engine_alone_per_s" not in to_json(results)
    results.engine = {"FULL": 12_000.0, "OFF": 13_000.0}
    assert "12,000/s at FULL, 13,000/s at OFF" in format_table(results)
    assert to_json(results)["engine_alone_per_s"] == {"FULL": 12_000.0, "OFF": 13_000.0}


def test_the_engine_alone_commits_every_request(tmp_path: Path) -> None:
    from statekeeper.bench.durable_statekeeper import run_engine_alone
    from statekeeper.storage.sqlite import SQLiteStore

    path = tmp_path / "engine.db"
    run = run_engine_alone(path, instances=20, group=4, events=50, warmup=10, synchronous="OFF")
    assert (run.transitions, run.synchronous) == (50, "OFF")
    store = SQLiteStore(path)
    try:  # 20 starts, then 60 flips spread over the 20 instances: every one is in the log
        assert sum(len(store.history(f"inst-{i:07d}")) for i in range(20)) == 20 + 60
    finally:
        store.close()


def test_a_failing_engine_cell_is_a_note_and_leaves_the_table_alone(tmp_path: Path) -> None:
    from statekeeper.bench.durable_rounds import ENGINE_ROW, Measurement, run_rounds

    def broken(_: Path) -> Any:
        raise OSError("disk full")

    results = DurableResults()
    cell = Measurement(ENGINE_ROW, "FULL", "engine from one thread, FULL", "transitions/s",
                        "FULL", broken)
    run_rounds(1, tmp_path, [cell], results)
    assert results.engine == {} and ENGINE_ROW not in results.cells
    assert any("disk full" in note for note in results.notes)


def test_bare_sqlite_is_reported_only_when_measured() -> None:
    results = DurableResults()
    assert "bare SQLite" not in format_table(results)
    assert "sqlite_alone_rows_per_s" not in to_json(results)
    results.disk = {"1_row_per_commit": 2_500.0, "16_rows_per_commit": 40_000.0}
    assert "bare SQLite" in format_table(results)
    assert "the bare single-row" not in format_table(results)  # no statekeeper rate: no ratio
    results.cells[SK]["16_senders"] = 10_000.0
    assert "4.00x the bare single-row commits, 25% of the bare rows" in format_table(results)
    data = to_json(results)
    assert data["sqlite_alone_rows_per_s"] == results.disk
    assert (data["ratios"]["sqlite_1_row_per_commit"],
            data["ratios"]["sqlite_16_rows_per_commit"]) == (4.0, 0.25)


def test_bare_sqlite_commits_every_row_durably(tmp_path: Path) -> None:
    import sqlite3

    from statekeeper.bench.durable_disk import ROW_TEXT, run_sqlite_commits

    path = tmp_path / "bare.db"
    run = run_sqlite_commits(path, rows=16, commits=5, warmup=2)
    assert (run.transitions, run.batches, run.synchronous) == (80, 5, "FULL")
    conn = sqlite3.connect(path)
    try:  # the warm-up's 2 commits and the 5 timed ones, 16 rows each, all of them whole
        assert conn.execute("SELECT count(*), min(body), max(body) FROM bare").fetchone() == (
            7 * 16, ROW_TEXT, ROW_TEXT)
    finally:
        conn.close()
    with pytest.raises(ValueError, match="at least 1"):
        run_sqlite_commits(tmp_path / "none.db", rows=0, commits=5, warmup=0)
