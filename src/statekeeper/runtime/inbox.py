"""The engine's inbox: how requests wait for its thread, and how a batch is taken from them.

One queue feeds the engine's thread.  An item is a request, a list of requests handed over
together (:meth:`~statekeeper.runtime.engine.Engine.post_many`: one wake-up for the lot), a
``flush()`` barrier (a :class:`~concurrent.futures.Future`), or :data:`STOP`.
"""

from __future__ import annotations

import queue
import time
from concurrent.futures import Future
from typing import Any

from .errors import EngineClosed

__all__ = ["STOP", "Inbox"]

#: the sentinel ``close()`` queues: the thread finishes what came before it and ends
STOP = object()


def _add(batch: list[Any], item: Any) -> None:
    if type(item) is list:
        batch.extend(item)
    else:
        batch.append(item)


class Inbox:
    """A queue of requests, taken in batches by one thread."""

    __slots__ = ("_queue",)

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def put(self, item: Any) -> None:
        """Queue a request, a list of requests, a barrier or :data:`STOP`."""
        self._queue.put(item)

    def wait(self, batch: list[Any]) -> bool:
        """Block for the next item and add it to ``batch``; ``True`` if it was :data:`STOP`."""
        item = self._queue.get()
        if item is STOP:
            return True
        _add(batch, item)
        return False

    def take(self, batch: list[Any], limit: int) -> bool:
        """Add what is waiting to ``batch`` (up to about ``limit``); ``True`` on :data:`STOP`."""
        return self._fill(batch, limit, None)

    def linger(self, batch: list[Any], expected: int, seconds: float) -> bool:
        """Wait up to ``seconds`` for ``batch`` to reach ``expected``; ``True`` on :data:`STOP`.

        Under concurrency the callers answered by the last group send their next requests
        one by one; committing the first few alone would cost a whole fsync for them and
        leave the rest for the next.  So while a batch is smaller than the last one, the
        engine waits a moment for it to fill.
        """
        return self._fill(batch, expected, time.perf_counter() + seconds)

    def _fill(self, batch: list[Any], size: int, deadline: float | None) -> bool:
        """Add items until ``batch`` has ``size``, nothing waits (or ``deadline`` passed)."""
        while len(batch) < size:
            try:
                if deadline is None:
                    item = self._queue.get_nowait()
                else:
                    remaining = deadline - time.perf_counter()
                    if remaining <= 0:
                        return False
                    item = self._queue.get(timeout=remaining)
            except queue.Empty:
                return False
            if item is STOP:
                return True
            _add(batch, item)
        return False

    def drain(self) -> None:
        """Answer whatever is queued for a stopped thread: requests fail, barriers pass."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, Future):  # a flush() barrier: nothing before it is pending
                item.set_result(None)
            elif item is not STOP:
                for request in item if type(item) is list else (item,):
                    if not request.future.done():
                        request.future.set_exception(EngineClosed())
