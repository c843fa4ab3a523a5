"""The threads effects run on: at most ``concurrency`` at once, daemons kept for the next effect.

Why not a ``concurrent.futures`` pool: a pool's threads are joined when the interpreter exits,
so one effect stuck in a call would keep the process from ending, and ``close(timeout=)``
could not give up on it.  These are daemon threads, so closing waits for them up to a deadline
and then leaves the rest running, their outcomes dropped (see :meth:`Worker.close
<statekeeper.runtime.worker.Worker.close>`).

Why a thread is kept once its effect has run: starting a thread costs more than a short effect
(the claiming thread waits for it to start, and it opens or takes over a SQLite connection);
under a steady stream of effects that was a fifth of the CPU of a transition that ran one.  So
a thread that finished an effect waits a while for the next one; one that waited ``idle``
seconds for nothing ends (a quiet process keeps no threads), and :meth:`stop` ends them all.
There are never more threads than slots, so never more than ``concurrency`` effects at once.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["EffectThreads"]

#: seconds a kept thread waits for another effect before it ends
IDLE = 30.0


class EffectThreads:
    """Slots for ``concurrency`` effects, and the threads running them with their keys."""

    def __init__(self, concurrency: int, *, idle: float = IDLE) -> None:
        self._slots = threading.BoundedSemaphore(concurrency)
        self._idle_for = idle
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # a job queued, or stop: for idle threads
        #: an effect ended: for :meth:`wait` only.  Not ``_work``: an ending effect woke every
        #: idle thread, each to find no job and sleep again (several switches per effect)
        self._ended = threading.Condition(self._lock)
        self._jobs: deque[tuple[str, str, Callable[[], None]]] = deque()
        #: threads that will take the next job (waiting for one, or just started for one)
        self._idle = 0
        self._threads: set[threading.Thread] = set()
        self._running: dict[threading.Thread, str] = {}  # thread -> the effect key it runs
        self._stopped = False
        #: threads started so far (the rest of the effects ran on a kept one)
        self.started = 0
        #: times an idle thread was woken and found no job (a race when a job is queued just
        #: as a running thread comes back for the next one)
        self.idle_wakeups = 0

    def take_slot(self, open_: Callable[[], bool]) -> bool:
        """Wait for a free slot; ``False`` (and no slot taken) once ``open_()`` says closing."""
        while not self._slots.acquire(timeout=0.05):
            if not open_():
                return False
        if open_():
            return True
        self._slots.release()
        return False

    def try_slot(self) -> bool:
        """Take a free slot if one is free now (never waits); ``False`` if all are taken."""
        return self._slots.acquire(blocking=False)

    def start(self, key: str, name: str, run: Callable[[], None]) -> None:
        """Run ``run`` on a kept daemon thread (or a new one), in the slot just taken.

        The slot is freed when ``run`` returns.  ``name`` becomes the thread's name while it
        runs (``statekeeper-effect-<effect>``), as if the thread were the effect's own.
        """
        with self._lock:
            if self._stopped:
                self._slots.release()
                raise RuntimeError("the effect threads are stopped")
            self._jobs.append((key, name, run))
            if self._idle >= len(self._jobs):  # a kept thread is free for it
                self._work.notify()
                return
            thread = threading.Thread(target=self._serve, name=name, daemon=True)
            self._threads.add(thread)
            self._idle += 1  # it takes a job as soon as it runs
            self.started += 1
        thread.start()

    def now_running(self, key: str, name: str) -> None:
        """The calling thread's job goes on to run effect ``key``, in the same slot."""
        me = threading.current_thread()
        with self._lock:
            self._running[me] = key
        me.name = name

    def _serve(self) -> None:
        me = threading.current_thread()
        while True:
            with self._lock:
                deadline = time.monotonic() + self._idle_for
                while not self._jobs and not self._stopped:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    if self._work.wait(left) and not self._jobs and not self._stopped:
                        self.idle_wakeups += 1
                self._idle -= 1
                if not self._jobs:  # stopped, or idle for too long: this thread ends
                    self._threads.discard(me)
                    return
                key, name, run = self._jobs.popleft()
                self._running[me] = key
            me.name = name
            try:
                run()
            finally:
                with self._lock:
                    self._running.pop(me, None)
                    self._idle += 1  # free again before its slot is: the next job is its
                    self._ended.notify_all()  # a close() waiting for running effects
                self._slots.release()

    def wait(self, timeout: float | None) -> list[str]:
        """Wait for the running effects, at most ``timeout`` seconds; the keys still running."""
        deadline = None if timeout is None else time.monotonic() + timeout
        me = threading.current_thread()  # an effect that closes its own client: not waited for
        with self._lock:
            while True:
                others = [k for t, k in self._running.items() if t is not me]
                if not others and not self._jobs:
                    return []
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return sorted(others)
                self._ended.wait(left)

    def stop(self) -> None:
        """End every kept thread; one still running an (abandoned) effect ends after it.

        Waits for the idle ones to end, so a closed worker leaves no thread of its own behind
        except those still running effects.
        """
        me = threading.current_thread()
        with self._lock:
            self._stopped = True
            self._work.notify_all()
            idle = [t for t in self._threads if t not in self._running and t is not me]
        for thread in idle:
            thread.join()
