"""A blocking subscription to committed changes, for :meth:`statekeeper.Client.watch`.

Why an object rather than a generator: a generator would subscribe only at its first
``next()``, so a change committed between ``watch()`` and the loop would be lost.  A
:class:`Watch` subscribes when it is made and unsubscribes when closed (or when its ``with``
block ends), so nothing committed after ``watch()`` returns is missed.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator

from .state import InstanceState

__all__ = ["Watch"]


class Watch:
    """Iterate the committed changes of one instance (or of all), in commit order.

    Iteration blocks until the next change; with ``timeout`` it ends after that many seconds
    without one, and it ends when the client is closed.  Close it (or use it as a context
    manager) to stop receiving changes.
    """

    def __init__(self, watchers: list[Callable[[InstanceState], None]],
                 instance_id: str | None, timeout: float | None,
                 closers: list[Callable[[], None]] | None = None,
                 shown: Callable[[InstanceState], InstanceState] | None = None) -> None:
        self._watchers = watchers
        #: what the reader may see of each change (run on the reader's thread, not the engine's)
        self._shown = shown
        self._closers = closers if closers is not None else []
        self._instance_id = instance_id
        self._timeout = timeout
        self._changes: queue.SimpleQueue[InstanceState | None] = queue.SimpleQueue()
        self._closed = False
        watchers.append(self._push)
        self._closers.append(self._end)

    def _end(self) -> None:
        """The client closed: no change will come, so iteration ends once the queue is read."""
        self._changes.put(None)

    def _push(self, state: InstanceState) -> None:
        if self._instance_id is None or state.id == self._instance_id:
            self._changes.put(state)

    def __iter__(self) -> Iterator[InstanceState]:
        return self

    def __next__(self) -> InstanceState:
        if self._closed:
            raise StopIteration
        try:
            change = self._changes.get(timeout=self._timeout)
        except queue.Empty:
            raise StopIteration from None
        if change is None:
            self.close()
            raise StopIteration
        return change if self._shown is None else self._shown(change)

    def close(self) -> None:
        """Stop receiving changes (idempotent)."""
        if not self._closed:
            self._closed = True
            self._watchers.remove(self._push)
            self._closers.remove(self._end)

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
