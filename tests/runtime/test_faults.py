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

import contextlib
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from statekeeper.storage.sqlite import SQLiteStore

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent
INSTANCES = 200
TICKS = 24  # + a start and a finish: 26 commands an instance, 5,200 in all
KILLS = 30
WINDOW = 2  # instances in flight at once


def script(instance: str) -> list[tuple[str, str]]:
    """The commands of one instance, in order, each with its stable key."""
    commands = [(f"start {instance}", "start")]
    for j in range(TICKS):
        commands.append((f"send {instance} tick {instance}:{j}", f"{instance}:{j}"))
    commands.append((f"send {instance} finish {instance}:finish", f"{instance}:finish"))
    return commands


class Process:
    """One worker process and its stdin; its answers go to a queue shared by all processes."""

    def __init__(self, db: Path, calls: Path, answers: queue.Queue[tuple[Process, str | None]],
                 *, drain: bool = False) -> None:
        args = [sys.executable, str(HERE / "fault_worker.py"), str(db), str(calls)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        self.proc = subprocess.Popen(args + (["--drain"] if drain else []), env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     bufsize=1)
        self.answers = answers
        self.ready = False
        self.alive = True
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with self.proc.stdout:
            for line in self.proc.stdout:
                self.answers.put((self, line.strip()))
        self.answers.put((self, None))

    def write(self, line: str) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass  # it died; a later process gets the command again

    def kill(self) -> None:
        self.alive = False
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.close_stdin()
        self.reader.join(10)

    def close_stdin(self) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError, OSError):
            self.proc.stdin.close()


class Driver:
    """Sends every instance's script in order, each command until it is acknowledged."""

    def __init__(self, db: Path, calls: Path, rng: random.Random, seed: int) -> None:
        self.db, self.calls, self.rng, self.seed = db, calls, rng, seed
        self.answers: queue.Queue[tuple[Process, str | None]] = queue.Queue()
        self.instances = [f"job-{n:03d}" for n in range(INSTANCES)]
        self.scripts = {i: script(i) for i in self.instances}
        self.cursor = dict.fromkeys(self.instances, 0)
        self.waiting = list(reversed(self.instances))  # not yet admitted
        self.admitted: list[str] = []
        self.live: list[Process] = []
        self.errors: list[str] = []
        self.drained = False

    def unfinished(self) -> bool:
        return any(self.cursor[i] < len(self.scripts[i]) for i in self.instances)

    def spawn(self, *, drain: bool = False) -> Process:
        process = Process(self.db, self.calls, self.answers, drain=drain)
        self.live.append(process)
        return process

    def kill(self, process: Process) -> None:
        process.kill()
        self.live.remove(process)

    def send_head(self, instance: str) -> None:
        ready = [p for p in self.live if p.ready and p.alive]
        if ready and self.cursor[instance] < len(self.scripts[instance]):
            self.rng.choice(ready).write(self.scripts[instance][self.cursor[instance]][0])

    def admit(self) -> None:
        """Keep WINDOW instances in flight, so the workload spans many process lives."""
        while self.waiting and sum(self.cursor[i] < len(self.scripts[i])
                                   for i in self.admitted) < WINDOW:
            instance = self.waiting.pop()
            self.admitted.append(instance)
            self.send_head(instance)

    def heads(self) -> None:
        for instance in self.admitted:
            self.send_head(instance)
        self.admit()

    def pump(self, until: float) -> None:
        """Handle answers until ``until`` (monotonic)."""
        while (timeout := until - time.monotonic()) > 0:
            try:
                process, line = self.answers.get(timeout=timeout)
            except queue.Empty:
                return
            if line is None:
                process.alive = False
            elif line == "ready":
                process.ready = True
                self.heads()  # the new process shares the work
            elif line == "drained":
                self.drained = True
            elif line.startswith("ack "):
                _, instance, key = line.split()
                position = self.cursor[instance]
                if position < len(self.scripts[instance]) and \
                        self.scripts[instance][position][1] == key:
                    self.cursor[instance] = position + 1
                    self.send_head(instance)
                    self.admit()
            else:
                self.errors.append(line)


def test_sigkill_loses_nothing_and_applies_nothing_twice(tmp_path: Path) -> None:
    seed = int(os.environ.get("STATEKEEPER_FAULT_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    db, calls = tmp_path / "fault.db", tmp_path / "calls.log"
    driver = Driver(db, calls, rng, seed)
    try:
        run(driver, rng, seed)
    finally:
        for process in list(driver.live):
            driver.kill(process)  # never leave a worker behind, even when the test fails
    store = SQLiteStore(str(db))
    try:
        check(store, driver.instances, calls, seed)
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


def check(store: SQLiteStore, instances: list[str], calls: Path, seed: int) -> None:
    called = Counter(calls.read_text().split())
    events = 0
    for instance in instances:
        record = store.load(instance)
        where = f"{instance} (seed {seed})"
        assert record.status == "done" and record.configuration == ("end",), where
        assert record.snapshot["data"]["n"] == TICKS, f"ticks applied != {TICKS}: {where}"
        rows = store.history(instance)
        assert [r.seq for r in rows] == list(range(1, len(rows) + 1)), where
        assert [r.event for r in rows].count("statekeeper.start") == 1, where
        keys = Counter(r.idempotency_key for r in rows if r.idempotency_key)
        twice = [k for k, n in keys.items() if n > 1]
        assert not twice, f"applied twice: {twice} in {where}"
        applied = {r.idempotency_key for r in rows if r.outcome == "applied"}
        scripted = {f"{instance}:{j}" for j in range(TICKS)} | {f"{instance}:finish"}
        assert scripted <= applied, f"missing {sorted(scripted - applied)}: {where}"
        events += len(scripted)
        fired = Counter(r.event for r in rows
                        if r.event.startswith("statekeeper.after.") and r.outcome == "applied")
        for beat in ("b0", "b1", "b2"):
            assert fired[f"statekeeper.after.{beat}.0"] == 1, f"{beat}: {where}"
        assert store.timers(instance) == [], f"timers left: {where}"
        effects = store.effects(instance)
        assert effects, where
        assert all(e.status in ("done", "failed") for e in effects), where
        assert [e.status for e in effects].count("done") == 1, where
        assert fired["statekeeper.after.wrapping.0"] == len(effects), where
        for effect in effects:
            assert called[effect.key] >= 1, f"effect {effect.key} never ran (seed {seed})"
            outcomes = [r for r in rows if r.idempotency_key == f"statekeeper.effect:{effect.key}"]
            assert len(outcomes) == 1, f"effect {effect.key}: {len(outcomes)} outcomes"
    print(f"effect calls: {sum(called.values())} for {len(called)} rows")
    keys = {e.key for e in store.effects()}
    assert set(called) <= keys, f"calls under unknown keys: {sorted(set(called) - keys)[:5]}"
    assert events >= 5000
    assert store.next_timer_due() is None
    assert store.integrity_check() == []
