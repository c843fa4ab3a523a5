"""Policies across processes: a crash during backoff, and one breaker shared by two workers.

Each test runs a real worker process on a SQLite file that kills itself with SIGKILL; this
process then opens the same file and carries on from what was committed.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from policy_charts import Downstream, order
from policy_worker import BREAKER

from statekeeper import VirtualClock
from statekeeper.client import Client

WORKER = Path(__file__).with_name("policy_worker.py")
START = 1_000_000.0

pytestmark = pytest.mark.slow


def run_worker(db: Path, mode: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(WORKER), str(db), mode, str(START)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == -signal.SIGKILL, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def test_a_crash_during_backoff_resumes_the_schedule(tmp_path: Path) -> None:
    db = tmp_path / "orders.db"
    before = run_worker(db, "fail-then-die")
    assert (before["status"], before["attempts"]) == ("pending", 1)
    assert before["available_at"] == START + 1.0  # the first backoff (jitter "none")
    clock = VirtualClock(START)
    api = Downstream()
    with Client(f"sqlite:///{db}", clock=clock, worker=False) as client:
        client.register(order(), effects={"charge": api.charge})
        client.worker.run_until_idle()
        assert api.calls == [], "the backoff survived the crash: not before it ends"
        clock.advance(1.0)
        client.worker.run_until_idle()
        assert api.calls == before["calls"], "the same idempotency key"
        assert client.get("o-1").state == "paid"
        [row] = client.store.effects("o-1")
        assert (row.attempts, row.errors) == (2, before["errors"]), "attempt 2, not 1 again"
        assert client.store.integrity_check() == []


def test_a_breaker_tripped_by_one_process_holds_in_another(tmp_path: Path) -> None:
    db = tmp_path / "orders.db"
    tripped = run_worker(db, "trip")
    assert tripped["breaker"] == "open" and len(tripped["calls"]) == 2
    clock = VirtualClock(START)
    api = Downstream()
    with Client(f"sqlite:///{db}", clock=clock, worker=False,
                breakers={"payments": BREAKER}) as client:
        client.register(order(retry=None, breaker="payments", blocked="waiting"),
                        effects={"charge": api.charge})
        client.start("order", "o-3")
        client.send("o-3", "pay")
        client.worker.run_until_idle()
        assert api.calls == [], "this process never saw a failure, yet its breaker is open"
        assert client.get("o-3").state == "waiting"
        clock.advance(60.0)
        client.send("o-3", "retry")
        client.worker.run_until_idle()
        assert client.get("o-3").state == "paid" and len(api.calls) == 1
        assert client.worker.policies.state("payments").status == "closed"
