"""The errors the runtime raises to callers, beyond the store's own.

The conflicts are :class:`~statekeeper.storage.base.StoreError` subclasses: a caller that
catches the store's errors around ``send`` catches them too.
"""

from __future__ import annotations

from ..core.errors import StatekeeperError
from ..storage.base import StoreError

__all__ = ["CommitConflict", "EngineClosed", "IdempotencyKeyReused", "UnknownDeadLetter"]


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


class IdempotencyKeyReused(StatekeeperError, ValueError):
    """An idempotency key already used for another request (another event, or other data).

    A key names one request: its repeat (the same event name and data) gets the first result
    and changes nothing, but the same key with different content is a caller's bug (two
    requests sharing a key), and answering "duplicate" would hide that the second never ran.
    Nothing of the request was written.
    """

    def __init__(self, instance_id: str, key: str, first_event: str, event: str) -> None:
        self.instance_id = instance_id
        self.key = key
        self.first_event = first_event
        self.event = event
        what = (f"event {event!r}" if event != first_event
                else f"event {event!r} with different data")
        super().__init__(
            f"idempotency key {key!r} of instance {instance_id!r} was first used for event "
            f"{first_event!r}; this request sends {what}. A key names one request: send a "
            f"new idempotency key for a new request (a repeat with the same event and data "
            f"gets the first result). Nothing was applied")
