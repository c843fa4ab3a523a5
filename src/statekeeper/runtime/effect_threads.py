"""The threads effects run on: at most ``concurrency`` at once, each a daemon of its own.

Why not a thread pool: a pool's threads are joined when the interpreter exits, so one effect
stuck in a call would keep the process from ending, and ``close(timeout=)`` could not give up
on it.  Here each effect gets a daemon thread; closing waits for them up to a deadline and then
leaves the rest running, their outcomes dropped (see :meth:`Worker.close
<statekeeper.runtime.worker.Worker.close>`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["EffectThreads"]


class EffectThreads:
    """Slots for ``concurrency`` effects, and the threads running them with their keys."""

    def __init__(self, concurrency: int) -> None:
        self._slots = threading.BoundedSemaphore(concurrency)
        self._lock = threading.Lock()
        self._running: dict[threading.Thread, str] = {}  # thread -> the effect key it runs

    def take_slot(self, open_: Callable[[], bool]) -> bool:
        """Wait for a free slot; ``False`` (and no slot taken) once ``open_()`` says closing."""
        while not self._slots.acquire(timeout=0.05):
            if not open_():
                return False
        if open_():
            return True
        self._slots.release()
        return False

    def start(self, key: str, name: str, run: Callable[[], None]) -> None:
        """Run ``run`` on a new daemon thread, in the slot just taken; it frees the slot."""
        def target() -> None:
            try:
                run()
            finally:
                with self._lock:
                    self._running.pop(threading.current_thread(), None)
                self._slots.release()

        thread = threading.Thread(target=target, name=name, daemon=True)
        with self._lock:
            self._running[thread] = key
        thread.start()

    def wait(self, timeout: float | None) -> list[str]:
        """Join the running threads, for at most ``timeout`` seconds; the keys still running."""
        deadline = None if timeout is None else time.monotonic() + timeout
        me = threading.current_thread()  # an effect that closes its own client: not waited for
        while True:
            with self._lock:
                threads = [t for t in self._running if t is not me]
                if not threads:
                    return []
                if deadline is not None and time.monotonic() >= deadline:
                    return sorted(k for t, k in self._running.items() if t is not me)
            for thread in threads:
                thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
