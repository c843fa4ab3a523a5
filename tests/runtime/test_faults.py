"""Crash the durable runtime with SIGKILL again and again; nothing is lost or applied twice.

Real worker processes (``fault_worker.py``: a :class:`~statekeeper.Client` with its background
worker on one SQLite file, on the wall clock) are killed at random points while a scripted
workload runs: instances started, events sent with stable idempotency keys (resent after every
kill until acknowledged), short ``after`` timers, and an effect that fails on some attempts.
A last clean process drains the work; then the store alone must show that every event was
applied exactly once, every effect row ran (only ever under its own key), every due timer
fired once, no instance is stuck, and the store is consistent.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

import pytest
from fault_workload import Driver, check

from statekeeper.storage.sqlite import SQLiteStore

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent
INSTANCES = 200  # 26 commands an instance (a start, 24 ticks, a finish): 5,200 in all
KILLS = 30
WINDOW = 2  # instances in flight at once


def make_driver(db: Path, calls: Path, rng: random.Random) -> Driver:
    """A driver of ``fault_worker.py`` processes, each a client with its worker, on ``db``."""
    def command(drain: bool) -> list[str]:
        return [sys.executable, str(HERE / "fault_worker.py"), str(db), str(calls)] + \
            (["--drain"] if drain else [])

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return Driver(command, env, rng, instances=INSTANCES, window=WINDOW)


def test_sigkill_loses_nothing_and_applies_nothing_twice(tmp_path: Path) -> None:
    seed = int(os.environ.get("STATEKEEPER_FAULT_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    db, calls = tmp_path / "fault.db", tmp_path / "calls.log"
    driver = make_driver(db, calls, rng)
    try:
        run(driver, rng, seed)
    finally:
        for process in list(driver.live):
            driver.kill(process)  # never leave a worker behind, even when the test fails
    store = SQLiteStore(str(db))
    try:
        check(store, driver.instances, calls, seed, least_events=5000)
    finally:
        store.close()


def run(driver: Driver, rng: random.Random, seed: int) -> None:
    """Kill workers at random points until the workload is done, then drain cleanly."""
    kills = 0
    progress: list[int] = []
    started = time.monotonic()
    while kills < KILLS or (kills < 3 * KILLS and driver.unfinished()):
        # One process, or two at once on the same file (they conflict on the same instances).
        for _ in range(1 if rng.random() < 0.4 else 2):
            driver.spawn()
        while driver.live:
            # Until the next kill; sometimes before the process is even ready.
            driver.pump(time.monotonic() + rng.uniform(0.1, 0.6))
            driver.kill(rng.choice(driver.live))
            kills += 1
            progress.append(sum(driver.cursor.values()))
        driver.pump(time.monotonic() + 0.05)  # answers written before the kills still count
    assert not driver.errors, driver.errors[:5]

    # The last, clean run: a process that drains, and a second one on the same file until then.
    final = driver.spawn(drain=True)
    companion = driver.spawn()
    deadline = time.monotonic() + 90
    while driver.unfinished():
        assert time.monotonic() < deadline, f"events never acknowledged (seed {seed})"
        assert final.alive, f"the last worker died (seed {seed})"
        driver.pump(time.monotonic() + 0.5)
    final.write("drain")
    deadline = time.monotonic() + 90
    while not driver.drained:
        assert time.monotonic() < deadline and final.alive, f"not drained (seed {seed})"
        driver.pump(time.monotonic() + 0.5)
    driver.kill(companion)
    final.close_stdin()
    assert final.proc.wait(30) == 0
    final.reader.join(10)
    assert not driver.errors, driver.errors[:5]
    elapsed = time.monotonic() - started
    print(f"fault test: seed {seed}, {kills} kills, {elapsed:.1f} s, acknowledged after each "
          f"kill: {progress}")
