"""Smoke tests of ``bench durable`` on the data-driven chart: tiny runs, checks, JSON shape.

Every run checks each instance's final leaf and data against the reference model, so these
tests fail when a library (statekeeper included) ends anywhere else.  No timing is asserted.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from statekeeper.bench.durable_chart import (
    BINDINGS,
    CHART_NAME,
    EVENT,
    amount,
    effects_expected,
    expected,
    meter_chart,
)
from statekeeper.bench.durable_chart_runs import (
    run_sk_chart,
    run_sk_starts,
    run_xstate_chart,
    run_xstate_starts,
)
from statekeeper.bench.durable_report import SK, DurableResults, format_table, to_json, verdict, write_json

XSTATE = importlib.util.find_spec("xstate_statemachine") is not None
needs_xstate = pytest.mark.skipif(not XSTATE, reason="xstate-statemachine is not installed")


def test_the_model_settles_once_every_four_adds() -> None:
    assert [expected(0, r).settled for r in range(13)] == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3]
    final = expected(2, 9)
    assert (final.n, final.total) == (9, sum(amount(2, r) for r in range(9)))
    assert effects_expected(3, 8) == 3 * 2


def test_the_model_is_the_chart_run_in_memory() -> None:
    from statekeeper.core.compile import compile_chart
    from statekeeper.machine import Machine

    chart = compile_chart(meter_chart(), guards=BINDINGS["guards"], functions=BINDINGS["functions"])
    machine = Machine(chart, effects=BINDINGS["effects"])
    for r in range(11):
        machine.send(EVENT, {"amount": amount(5, r)})
        want = expected(5, r + 1)
        assert machine.configuration[-1] == want.leaf
        assert dict(machine.data) == want.data


def test_statekeeper_commits_every_add_and_effect(tmp_path: Path) -> None:
    run = run_sk_chart(tmp_path / "sk.db", instances=8, senders=4, rounds=9, warmup_rounds=2)
    assert (run.units, run.effects, run.synchronous) == (72, effects_expected(8, 9), "FULL")
    assert run.cpu > 0


def test_statekeeper_starts(tmp_path: Path) -> None:
    run = run_sk_starts(tmp_path / "starts.db", count=40, senders=4, warmup=4)
    assert (run.units, run.synchronous) == (40, "FULL")
    from statekeeper.storage.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path / "starts.db")
    try:
        assert store.load("s-0000039") is not None
    finally:
        store.close()


@needs_xstate
def test_xstate_statemachine_ends_where_the_model_says(tmp_path: Path) -> None:
    run = run_xstate_chart(tmp_path / "x.db", full=True, instances=6, senders=3, rounds=9)
    assert (run.units, run.synchronous) == (54, "FULL")
    run = run_xstate_starts(tmp_path / "xs.db", full=False, count=12, senders=3)
    assert (run.units, run.synchronous) == (12, "NORMAL")


def test_the_report_shows_both_tables_and_their_targets(tmp_path: Path) -> None:
    results = DurableResults()
    results.tables["chart"] = {SK: {"1_sender": 3_000.0, "16_senders": 16_000.0},
                               "xstate_statemachine_full": {"1_sender": 2_000.0,
                                                            "16_senders": "error"}}
    results.cpu_us["chart"] = {SK: {"16_senders": 50.0}, "xstate_statemachine_full":
                               {"1_sender": 400.0}}
    results.tables["starts"] = {SK: {"16_senders": 9_000.0}}
    table = format_table(results)
    assert "data-driven chart" in table and "8.0x" in table and "error" in table
    lines = verdict(results)
    assert any("15,000 data-driven" in line and line.endswith("ok") for line in lines)
    assert any("starts/s" in line and line.endswith("MISSED") for line in lines)
    assert not any("20,000" in line for line in lines)  # the toggle was not measured
    data = to_json(results)
    chart = data["data_driven_chart"]
    assert chart["transitions_per_s"][SK] == {"1_sender": 3_000.0, "16_senders": 16_000.0}
    assert chart["ratios"] == {"xstate_statemachine_full": 8.0}
    assert chart["cpu_us_per_transition"][SK]["16_senders"] == 50.0
    assert data["starts"]["starts_per_s"][SK] == {"1_sender": None, "16_senders": 9_000.0}
    # merged into an earlier file: the toggle's figures stay, the chart's are new
    out = tmp_path / "durable.json"
    out.write_text(json.dumps({"transitions_per_s": {"1_sender": 1.0, "16_senders": 2.0},
                               "versions": {"dbos": "3.4.0"}}))
    write_json(results, out, merge=True)
    merged = json.loads(out.read_text())
    assert merged["transitions_per_s"] == {"1_sender": 1.0, "16_senders": 2.0}
    assert merged["data_driven_chart"] == chart
    assert merged["versions"]["dbos"] == "3.4.0"


@pytest.mark.slow
def test_quick_chart_run_writes_the_documented_json(tmp_path: Path) -> None:
    out = tmp_path / "durable.json"
    done = subprocess.run(
        [sys.executable, "-m", "statekeeper.bench", "durable", "--quick", "--only",
         "chart,starts", "--json", str(out), "--dir", str(tmp_path / "db")],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "data-driven chart" in done.stdout
    data = json.loads(out.read_text())
    rows = {SK, "xstate_statemachine_full", "xstate_statemachine_normal"} if XSTATE else {SK}
    for key, unit in (("data_driven_chart", "transitions_per_s"), ("starts", "starts_per_s")):
        assert set(data[key][unit]) == rows
        for cols in data[key][unit].values():
            assert set(cols) == {"1_sender", "16_senders"}
            assert all(isinstance(v, float) and v > 0 for v in cols.values()), (key, cols)
    assert data["transitions_per_s"] == {"1_sender": None, "16_senders": None}  # not selected
    assert CHART_NAME == "meter"
