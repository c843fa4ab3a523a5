"""The README's first command: the durable demo runs in two processes and finishes the orders."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_the_demo_survives_its_own_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "orders.db"
    run = subprocess.run([sys.executable, "-m", "statekeeper.examples.food_delivery", "--db", str(db)],
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "the first process is gone (signal 9)" in run.stdout
    assert "demo finished: OK" in run.stdout
    # The log in the file, not the printout, is the proof: o-1 went all the way, once.
    with sqlite3.connect(db) as conn:
        events = [e for (e,) in conn.execute(
            "SELECT event FROM transitions WHERE instance = 'o-1' ORDER BY seq")]
    assert events.count("delivered") == 1 and events.count("statekeeper.start") == 1
    calls = [json.loads(line) for line in db.with_suffix(".payments.jsonl").read_text().splitlines()]
    assert [c["ok"] for c in calls if c["order"] == "o-1"] == [False, False, True]
    # The printout explains the keys: a new one per charge the chart retries (it enters the
    # charging state, Placed, again: a new effect), one per effect across its own attempts.
    keys = [c["key"] for c in calls if c["order"] == "o-1" and c["op"] == "charge"]
    assert len(set(keys)) == 3
    explained = next(line for line in run.stdout.splitlines() if "charged under 3 keys" in line)
    assert all(key in explained for key in keys)
    assert "enters Placed\n    again" in run.stdout
    assert "keeps its one key on every attempt" in run.stdout


def test_the_second_phase_refuses_to_run_without_the_first(tmp_path: Path) -> None:
    from statekeeper.examples.food_delivery import main

    assert main(["--phase", "second", "--db", str(tmp_path / "missing.db")]) == 2
