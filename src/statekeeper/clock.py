"""Clocks: where machines get the time and schedule delayed events.

Every delayed event (``after``, delayed ``<send>``) is scheduled through a :class:`Clock`, so a
test drives time with :class:`VirtualClock` instead of sleeping, and the system clock needs one
thread in all, never one per timer.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["Clock", "SystemClock", "TimerHandle", "VirtualClock"]


class TimerHandle:
    """A scheduled callback; :meth:`cancel` stops it if it has not run."""

    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Clock(Protocol):
    """What a machine needs from time: the current time and scheduling at a time."""

    def now(self) -> float:
        """Seconds since the epoch (or since a virtual origin)."""
        ...

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        """Run ``callback`` at time ``when`` (soon, if it is already past)."""
        ...


class _Heap:
    def __init__(self) -> None:
        self.heap: list[tuple[float, int, TimerHandle]] = []
        self.seq = itertools.count()

    def push(self, handle: TimerHandle) -> None:
        heapq.heappush(self.heap, (handle.when, next(self.seq), handle))

    def pop_due(self, now: float) -> TimerHandle | None:
        while self.heap and self.heap[0][2].cancelled:
            heapq.heappop(self.heap)
        if self.heap and self.heap[0][0] <= now:
            return heapq.heappop(self.heap)[2]
        return None

    def next_due(self) -> float | None:
        while self.heap and self.heap[0][2].cancelled:
            heapq.heappop(self.heap)
        return self.heap[0][0] if self.heap else None


class VirtualClock:
    """A clock that moves only when told to: deterministic tests of timers, no sleeping.

    Example:
        >>> clock = VirtualClock()
        >>> fired = []
        >>> _ = clock.call_at(5.0, lambda: fired.append(clock.now()))
        >>> _ = clock.advance(4); fired
        []
        >>> _ = clock.advance(1); fired
        [5.0]

    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._timers = _Heap()

    def now(self) -> float:
        return self._now

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        handle = TimerHandle(when, callback)
        self._timers.push(handle)
        return handle

    def advance(self, seconds: float) -> int:
        """Move time forward, running every callback that falls due, in time order.

        Returns how many callbacks ran.  Callbacks scheduled by callbacks run too when they
        fall inside the window.
        """
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        end = self._now + seconds
        ran = 0
        while True:
            handle = self._timers.pop_due(end)
            if handle is None:
                break
            self._now = max(self._now, handle.when)
            handle.callback()
            ran += 1
        self._now = end
        return ran

    def next_due(self) -> float | None:
        """The time of the earliest pending callback, or ``None``."""
        return self._timers.next_due()

    def run_until_idle(self, limit: float = 10 * 365 * 86400.0) -> int:
        """Advance to each pending callback in turn until none is left (or ``limit`` passes)."""
        ran, deadline = 0, self._now + limit
        while (due := self.next_due()) is not None and due <= deadline:
            ran += self.advance(max(0.0, due - self._now))
        return ran


class SystemClock:
    """Wall-clock time; callbacks run on one shared daemon thread, whatever their number."""

    def __init__(self) -> None:
        self._timers = _Heap()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def now(self) -> float:
        return time.time()

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        handle = TimerHandle(when, callback)
        with self._cond:
            self._timers.push(handle)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="statekeeper-timers",
                                                daemon=True)
                self._thread.start()
            self._cond.notify()
        return handle

    def _loop(self) -> None:
        while True:
            with self._cond:
                handle = self._timers.pop_due(time.time())
                if handle is None:
                    due = self._timers.next_due()
                    self._cond.wait(None if due is None else max(0.0, due - time.time()))
                    continue
            handle.callback()
