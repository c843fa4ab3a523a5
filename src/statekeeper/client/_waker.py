"""Answering many asyncio callers with one wake-up of their event loop.

The engine answers a whole group commit at once, from its own thread.  ``asyncio.wrap_future``
would wake the caller's event loop once per answer (a ``call_soon_threadsafe`` and a write to
the loop's self-pipe each); under load that costs more than the commit.  Here the first answer
of a burst schedules one flush on the loop, and the answers that arrive before it runs ride
along.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from concurrent.futures import Future
from typing import Any, TypeVar

__all__ = ["LoopWaker"]

T = TypeVar("T")


class LoopWaker:
    """Bridges engine futures to one event loop's futures, coalescing wake-ups."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._lock = threading.Lock()
        self._ready: list[tuple[Future[Any], asyncio.Future[Any]]] = []
        self._scheduled = False

    def wrap(self, future: Future[T]) -> asyncio.Future[T]:
        """An asyncio future of this loop that settles as ``future`` does."""
        waiter: asyncio.Future[T] = self.loop.create_future()
        future.add_done_callback(lambda done: self._done(done, waiter))
        return waiter

    def _done(self, future: Future[Any], waiter: asyncio.Future[Any]) -> None:
        with self._lock:  # any thread (the engine's, usually)
            self._ready.append((future, waiter))
            if self._scheduled:
                return
            self._scheduled = True
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            self.loop.call_soon_threadsafe(self._flush)

    def _flush(self) -> None:
        with self._lock:  # on the loop
            ready, self._ready, self._scheduled = self._ready, [], False
        for future, waiter in ready:
            if waiter.done():  # the caller gave up (cancelled)
                continue
            error = future.exception()
            if error is not None:
                waiter.set_exception(error)
            else:
                waiter.set_result(future.result())
