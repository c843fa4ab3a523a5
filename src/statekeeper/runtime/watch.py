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
    without one.  Close it (or use it as a context manager) to stop receiving changes.
    """

    def __init__(self, watchers: list[Callable[[InstanceState], None]],
                 instance_id: str | None, timeout: float | None) -> None:
        self._watchers = watchers
        self._instance_id = instance_id
        self._timeout = timeout
        self._changes: queue.SimpleQueue[InstanceState] = queue.SimpleQueue()
        self._closed = False
        watchers.append(self._push)

    def _push(self, state: InstanceState) -> None:
        if self._instance_id is None or state.id == self._instance_id:
            self._changes.put(state)

    def __iter__(self) -> Iterator[InstanceState]:
        return self

    def __next__(self) -> InstanceState:
        if self._closed:
            raise StopIteration
        try:
            return self._changes.get(timeout=self._timeout)
        except queue.Empty:
            raise StopIteration from None

    def close(self) -> None:
        """Stop receiving changes (idempotent)."""
        if not self._closed:
            self._closed = True
            self._watchers.remove(self._push)

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
