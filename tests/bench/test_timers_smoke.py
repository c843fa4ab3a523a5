"""Smoke tests for ``python -m statekeeper.bench timers``: a tiny run, its checks, its JSON.

The run itself fails unless every timer fired and every instance ended done; these tests check
that it does so end to end and that the JSON has the documented shape.  No timing is asserted.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest

from statekeeper.bench.__main__ import main
from statekeeper.bench.gc_pauses import GcPauses
from statekeeper.bench.timers import Settings, TimerRun, format_table, run_timers, to_json


def test_a_tiny_run_fires_every_timer_once(tmp_path: Path) -> None:
    settings = Settings(count=60, rate=200.0, start_rate_floor=60.0, window=16)
    run = run_timers(tmp_path / "t.db", settings)
    assert run.count == 60 and len(run.lateness_ms) == 60
    assert run.lateness_ms == sorted(run.lateness_ms)
    assert run.synchronous == "FULL" and run.started_before_due
    assert run.lateness_ms[0] > -50.0  # none fired well before its due time


def test_the_json_and_the_table() -> None:
    run = TimerRun(count=4, rate=10.0, lateness_ms=[1.0, 2.0, 3.0, 250.0], fire_seconds=0.5,
                   cpu=0.002, start_seconds=0.1, started_before_due=False, synchronous="FULL")
    data = to_json(run, {"before": (1.0, 1.0, 1.0), "after": None})
    assert data["lateness_ms"]["max"] == 250.0
    assert set(data["lateness_ms"]) == {"p50", "p90", "p99", "p999", "max"}
    assert (data["fires_per_s"], data["cpu_us_per_fire"], data["starts_per_s"]) == (8.0, 500.0, 40.0)
    table = format_table(data)
    assert "MISSED" in table and "still running" in table


def test_bad_sizes_are_a_usage_error() -> None:
    assert main(["timers", "--quick", "--count", "0"]) == 2


@pytest.mark.slow
def test_quick_run_writes_the_documented_json(tmp_path: Path) -> None:
    out = tmp_path / "timers.json"
    done = subprocess.run(
        [sys.executable, "-m", "statekeeper.bench", "timers", "--quick", "--count", "300",
         "--json", str(out), "--dir", str(tmp_path / "db")],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "lateness" in done.stdout
    data = json.loads(out.read_text())
    assert data["count"] == 300 and data["synchronous"] == "FULL"
    assert data["fires_per_s"] > 0 and data["cpu_us_per_fire"] > 0
    late = data["lateness_ms"]
    assert late["p50"] <= late["p99"] <= late["max"]


def test_percentiles_are_on_a_0_to_100_scale() -> None:
    run = TimerRun(count=100, rate=10.0, lateness_ms=[float(i) for i in range(1, 101)],
                   fire_seconds=1.0, cpu=0.1, start_seconds=0.1, started_before_due=True,
                   synchronous="FULL")
    assert (run.percentile_ms(50.0), run.percentile_ms(99.0), run.percentile_ms(100.0)) == (
        50.0, 99.0, 100.0)
    with pytest.raises(ValueError, match="from 0 to 100"):
        run.percentile_ms(0.0)


def test_the_gc_report_finds_the_full_collections_in_the_late_waits() -> None:
    pauses = GcPauses()
    # (generation, began at, seconds): a full collection at t=10.5, a young one at t=11.5
    pauses.pauses = [(2, 10.5, 0.08, 0.03), (0, 11.5, 0.001, 0.001), (2, 99.0, 0.05, 0.05)]
    waits = [(10.0, 10.6), (11.0, 11.7), (12.0, 12.001)]  # 600 ms, 700 ms and 1 ms late
    found = pauses.report(10.0, 13.0, waits, late_ms=500.0)
    assert found["gen2"] == {"count": 1, "total_ms": 80.0, "max_ms": 80.0,  # not the one at 99
                             "cpu_total_ms": 30.0, "cpu_max_ms": 30.0}
    assert found["gen0"]["count"] == 1 and found["gen1"]["count"] == 0
    assert (found["late_fires"], found["late_with_full"]) == (2, 0.5)


def test_a_real_run_reports_its_collections(tmp_path: Path) -> None:
    settings = Settings(count=40, rate=200.0, start_rate_floor=40.0, window=16, gc_tuned=True)
    thresholds = gc.get_threshold()
    try:
        run = run_timers(tmp_path / "t.db", settings)
    finally:  # the collector is the process's: as it was for the other tests
        gc.unfreeze()
        gc.set_threshold(*thresholds)
    assert run.gc_tuned and set(run.gc) >= {"gen0", "gen1", "gen2", "late_fires"}
    table = format_table(to_json(run, {"before": None, "after": None}))
    assert "garbage collector tuned" in table and "with a full collection" in table
