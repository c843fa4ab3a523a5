"""A ``statekeeper worker`` subprocess whose output lines a test waits for, line by line."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

HERE = Path(__file__).parent
CHART = """\
name: job
version: 1
initial: idle
states:
  idle:
    on:
      go: charging
      later: waiting
      hold: holding
  charging:
    entry:
      - effect: {name: charge}
    on:
      done.effect.charge: done
  waiting:
    after:
      100ms: ringing
  ringing:
    entry:
      - effect: {name: ring}
    on:
      done.effect.ring: done
  holding:
    entry:
      - effect: {name: hold}
    on:
      done.effect.hold: done
  done:
    type: final
"""
#: the longest a test waits for an expected line (a failing test, never a passing one)
PATIENCE = 60.0


class WorkerProcess:
    """``statekeeper worker`` started with ``args``; its stdout and stderr read into a queue."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.lines: queue.Queue[tuple[str, str]] = queue.Queue()
        self.seen: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "statekeeper", "worker", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=HERE,
            env={**os.environ, **(env or {})})
        self._readers = [threading.Thread(target=self._read, args=(name, pipe), daemon=True)
                         for name, pipe in (("out", self.proc.stdout), ("err", self.proc.stderr))]
        for reader in self._readers:
            reader.start()

    def _read(self, name: str, pipe: IO[str] | None) -> None:
        assert pipe is not None
        for line in pipe:
            self.lines.put((name, line.rstrip("\n")))

    def expect(self, pattern: str, timeout: float = PATIENCE) -> str:
        """The next line matching ``pattern``; fails after ``timeout`` seconds without one."""
        while True:
            try:
                _, line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r} within {timeout:g}s; "
                                     f"seen:\n" + "\n".join(self.seen)) from None
            self.seen.append(line)
            if re.search(pattern, line):
                return line

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send ``sig``; the exit status once the process ended."""
        self.proc.send_signal(sig)
        return self.wait()

    def wait(self) -> int:
        code = self.proc.wait(timeout=PATIENCE)
        for reader in self._readers:
            reader.join(timeout=PATIENCE)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()
        while not self.lines.empty():
            self.seen.append(self.lines.get()[1])
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.wait()
