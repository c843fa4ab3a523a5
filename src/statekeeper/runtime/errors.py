"""The errors the runtime raises to callers, beyond the store's own.

The conflicts are :class:`~statekeeper.storage.base.StoreError` subclasses: a caller that
catches the store's errors around ``send`` catches them too.
"""

from __future__ import annotations

from ..core.errors import StatekeeperError
from ..storage.base import StoreError

__all__ = ["CommitConflict", "EngineClosed", "UnknownDeadLetter"]


class CommitConflict(StoreError):
    """A request's commit kept losing optimistic checks (another writer keeps changing it)."""

    def __init__(self, instance_id: str, attempts: int) -> None:
        self.instance_id = instance_id
        self.attempts = attempts
        super().__init__(f"instance {instance_id!r}: gave up after {attempts} conflicting "
                         "commits (another writer keeps changing it); nothing was applied")


class UnknownDeadLetter(StoreError, KeyError):
    """No dead letter has that id (it was never written, or was replayed or discarded)."""

    def __init__(self, letter_id: int) -> None:
        self.letter_id = letter_id
        super().__init__(f"no dead letter {letter_id} (already replayed or discarded?)")

    def __str__(self) -> str:
        return f"no dead letter {self.letter_id} (already replayed or discarded?)"


class EngineClosed(StatekeeperError, RuntimeError):
    """The client is closed (or its engine never started): nothing of the request was written."""

    def __init__(self) -> None:
        super().__init__("the client is closed, or its engine was never started: it takes no "
                         "requests (nothing of this one was written)")
