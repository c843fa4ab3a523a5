"""Smoke tests for ``python -m statekeeper.bench timers``: a tiny run, its checks, its JSON.

The run itself fails unless every timer fired and every instance ended done; these tests check
that it does so end to end and that the JSON has the documented shape.  No timing is asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from statekeeper.bench.__main__ import main
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
