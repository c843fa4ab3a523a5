"""Answering many asyncio callers with one wake-up of their event loop, and the reverse.

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
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

__all__ = ["LoopAnswer", "LoopWaker"]

T = TypeVar("T")


class LoopWaker:
    """Bridges engine futures to one event loop's futures, coalescing wake-ups."""

    def __init__(self, loop: asyncio.AbstractEventLoop,
                 defer: Callable[[Callable[[], None]], None] | None = None) -> None:
        """``defer(wake)`` may hold the wake-up back until its caller has posted a whole group.

        The engine passes ``Engine.after_answers``: it answers a group commit one request at
        a time, and waking the loop at the first answer would let the loop take the GIL,
        flush that one answer and send again while the engine still answers the rest.
        """
        self.loop = loop
        self._defer = defer
        self._lock = threading.Lock()
        self._ready: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        self._scheduled = False
        self._outgoing: list[Any] = []

    def send_soon(self, request: Any, post_many: Callable[[list[Any]], None]) -> None:
        """Hand ``request`` to ``post_many`` at the end of this turn of the loop, with the rest.

        On the loop only.  The tasks one group commit answered all run in one turn of the
        loop, and each sends its next request; handed over together, they wake the engine
        once instead of once each.  Requests keep the order they were sent in.
        """
        outgoing = self._outgoing
        outgoing.append(request)
        if len(outgoing) == 1:
            self.loop.call_soon(self._send_outgoing, post_many)

    def _send_outgoing(self, post_many: Callable[[list[Any]], None]) -> None:
        outgoing, self._outgoing = self._outgoing, []
        if outgoing:  # else handed over already, by flush_outgoing
            post_many(outgoing)

    def flush_outgoing(self, post_many: Callable[[list[Any]], None]) -> None:
        """Hand over what this turn sent so far now (on the loop; before a close)."""
        self._send_outgoing(post_many)

    def wrap(self, future: Future[T]) -> asyncio.Future[T]:
        """An asyncio future of this loop that settles as ``future`` does."""
        waiter: asyncio.Future[T] = self.loop.create_future()
        future.add_done_callback(lambda done: self._done(done, waiter))
        return waiter

    def _done(self, future: Future[Any], waiter: asyncio.Future[Any]) -> None:
        error = future.exception()
        self.post(waiter, None if error is not None else future.result(), error)

    def post(self, waiter: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
        """Settle ``waiter`` on its loop with ``value`` or ``error`` (from any thread)."""
        with self._lock:  # any thread (the engine's, usually)
            self._ready.append((waiter, value, error))
            if self._scheduled:
                return
            self._scheduled = True
        if self._defer is None:
            self._wake()
        else:
            self._defer(self._wake)

    def _wake(self) -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            self.loop.call_soon_threadsafe(self._flush)

    def _flush(self) -> None:
        with self._lock:  # on the loop
            ready, self._ready, self._scheduled = self._ready, [], False
        for waiter, value, error in ready:
            if waiter.done():  # the caller gave up (cancelled)
                continue
            if error is not None:
                waiter.set_exception(error)
            else:
                waiter.set_result(value)


class LoopAnswer:
    """An engine request's answer that goes straight to an asyncio future.

    It implements :class:`~statekeeper.runtime.requests.Answer`; the engine sets it once from
    its own thread, and the waker carries the outcome to the loop with the rest of the group.
    """

    __slots__ = ("_settled", "_waker", "waiter")

    def __init__(self, waker: LoopWaker, waiter: asyncio.Future[Any]) -> None:
        self._waker = waker
        self.waiter = waiter
        self._settled = False

    def done(self) -> bool:
        return self._settled

    def set_result(self, result: Any, /) -> None:
        self._settled = True
        self._waker.post(self.waiter, result, None)

    def set_exception(self, exception: BaseException | None, /) -> None:
        self._settled = True
        self._waker.post(self.waiter, None, exception)
