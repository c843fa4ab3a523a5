"""The scripted workload and the final checks the fault tests share.

``test_faults.py`` (SQLite) and ``test_pg_faults.py`` (PostgreSQL) run the same workload
through client processes (``fault_worker.py``) they may kill: instances of ``fault_chart.JOB``
started, events sent with stable idempotency keys (resent after every kill or failure until
acknowledged), short ``after`` timers, and an effect that fails on some attempts.  Afterwards
:func:`check` reads the store alone: every event applied exactly once, every effect row ran
(only ever under its own key), every due timer fired once, no instance stuck, no effect or
timer left, and the store consistent.
"""

from __future__ import annotations

import contextlib
import queue
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from fault_chart import TICKS

from statekeeper.storage.base import Store

__all__ = ["Driver", "Process", "check", "script"]


def script(instance: str) -> list[tuple[str, str]]:
    """The commands of one instance, in order, each with its stable key."""
    commands = [(f"start {instance}", "start")]
    for j in range(TICKS):
        commands.append((f"send {instance} tick {instance}:{j}", f"{instance}:{j}"))
    commands.append((f"send {instance} finish {instance}:finish", f"{instance}:finish"))
    return commands


class Process:
    """One client process and its stdin; its answers go to a queue shared by all processes."""

    def __init__(self, args: list[str], env: dict[str, str],
                 answers: queue.Queue[tuple[Process, str | None]], *,
                 stderr: Path | None = None) -> None:
        with contextlib.ExitStack() as files:
            err = files.enter_context(stderr.open("a")) if stderr is not None else None
            self.proc = subprocess.Popen(args, env=env, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=err, text=True,
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
    """Sends every instance's script in order, each command until it is acknowledged.

    ``command(drain)`` is the argument list of a client process.  An answer ``retry`` (the
    store was unavailable: a named error) is sent again after ``retry_after`` seconds when
    ``retry_after`` is set, else recorded as an error like any other.
    """

    def __init__(self, command: Callable[[bool], list[str]], env: dict[str, str],
                 rng: random.Random, *, instances: int, window: int,
                 retry_after: float | None = None, stderr: Path | None = None) -> None:
        self.command, self.env, self.rng = command, env, rng
        self.retry_after, self.stderr = retry_after, stderr
        self.answers: queue.Queue[tuple[Process, str | None]] = queue.Queue()
        self.window = window
        self.instances = [f"job-{n:03d}" for n in range(instances)]
        self.scripts = {i: script(i) for i in self.instances}
        self.cursor = dict.fromkeys(self.instances, 0)
        self.waiting = list(reversed(self.instances))  # not yet admitted
        self.admitted: list[str] = []
        self.live: list[Process] = []
        self.errors: list[str] = []
        self.retries: list[str] = []
        self.resend: dict[str, float] = {}  # instance -> when its head is sent again
        self.drained = False
        self.transcript: list[str] = []  # every answer, for a failure's post-mortem

    def unfinished(self) -> bool:
        return any(self.cursor[i] < len(self.scripts[i]) for i in self.instances)

    def acknowledged(self) -> int:
        return sum(self.cursor.values())

    def spawn(self, *, drain: bool = False) -> Process:
        process = Process(self.command(drain), self.env, self.answers, stderr=self.stderr)
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
        """Keep ``window`` instances in flight, so the workload spans many process lives."""
        while self.waiting and sum(self.cursor[i] < len(self.scripts[i])
                                   for i in self.admitted) < self.window:
            instance = self.waiting.pop()
            self.admitted.append(instance)
            self.send_head(instance)

    def heads(self) -> None:
        for instance in self.admitted:
            self.send_head(instance)
        self.admit()

    def _resend_due(self) -> float | None:
        """Send again the heads whose retry pause is over; when the next one is due."""
        now = time.monotonic()
        for instance, at in list(self.resend.items()):
            if at <= now:
                del self.resend[instance]
                self.send_head(instance)
        return min(self.resend.values(), default=None)

    def pump(self, until: float) -> None:
        """Handle answers until ``until`` (monotonic)."""
        while (timeout := until - time.monotonic()) > 0:
            next_resend = self._resend_due()
            if next_resend is not None:
                timeout = max(0.0, min(timeout, next_resend - time.monotonic()))
            try:
                process, line = self.answers.get(timeout=timeout)
            except queue.Empty:
                continue
            self.transcript.append(f"{time.monotonic():.3f} {process.proc.pid} {line}")
            if line is None:
                process.alive = False
            elif line == "ready":
                process.ready = True
                self.heads()  # the new process shares the work
            elif line == "drained":
                self.drained = True
            elif line.startswith("ack "):
                _, instance, key = line.split()[:3]
                if self._is_head(instance, key):
                    self.cursor[instance] += 1
                    self.send_head(instance)
                    self.admit()
            elif line.startswith("retry ") and self.retry_after is not None:
                self.retries.append(line)
                _, instance, key = line.split()[:3]
                if self._is_head(instance, key):
                    self.resend.setdefault(instance, time.monotonic() + self.retry_after)
            else:
                self.errors.append(line)

    def _is_head(self, instance: str, key: str) -> bool:
        position = self.cursor[instance]
        return position < len(self.scripts[instance]) and \
            self.scripts[instance][position][1] == key


def check(store: Store, instances: list[str], calls: Path, seed: int, *,
          least_events: int) -> None:
    """What the store must show after the run (see the module docstring)."""
    called = Counter(calls.read_text().split())
    events = 0
    for instance in instances:
        record = store.load(instance)
        where = f"{instance} (seed {seed})"
        assert record.status == "done" and record.configuration == ("end",), where
        rows = store.history(instance)
        assert [r.seq for r in rows] == list(range(1, len(rows) + 1)), where
        assert [r.event for r in rows].count("statekeeper.start") == 1, where
        keys = Counter(r.idempotency_key for r in rows if r.idempotency_key)
        twice = [k for k, n in keys.items() if n > 1]
        assert not twice, f"applied twice: {twice} in {where}"
        applied = {r.idempotency_key for r in rows if r.outcome == "applied"}
        scripted = {f"{instance}:{j}" for j in range(TICKS)} | {f"{instance}:finish"}
        missing = sorted(scripted - applied)
        assert not missing, f"missing {missing}: {where}; mailbox: " \
            f"{[store.mailbox(instance, key) for key in missing]}; history: {rows}"
        ticks = [(r.seq, r.idempotency_key, r.outcome) for r in rows if r.event == "tick"]
        assert record.snapshot["data"]["n"] == TICKS, \
            f"{record.snapshot['data']['n']} ticks applied, not {TICKS}: {where}: {ticks}"
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
    assert events >= least_events
    assert store.next_timer_due() is None
    assert store.integrity_check() == []
