"""Every exception statekeeper raises, under one base class a user can catch."""

from __future__ import annotations

__all__ = [
    "ChartError",
    "ChartWarning",
    "EventNotAccepted",
    "ExecutionError",
    "MachineFinished",
    "SnapshotError",
    "SnapshotMismatch",
    "StatekeeperError",
    "UnboundName",
]


class StatekeeperError(Exception):
    """Base class of every error statekeeper raises on purpose."""


class ChartError(StatekeeperError):
    """A chart definition is invalid; raised at definition or compile time.

    Attributes:
        state: the id of the state the problem is in (``None`` for chart-level problems).
        reason: what is wrong, in words.

    """

    def __init__(self, reason: str, state: str | None = None) -> None:
        self.state = state
        self.reason = reason
        where = f"state {state!r}: " if state is not None else ""
        super().__init__(f"{where}{reason}")


class UnboundName(ChartError):
    """A guard, action, effect or expression names a callable that was not provided."""


class ChartWarning(UserWarning):
    """A chart is valid but probably not what was meant (an unreachable state, a trap)."""


class EventNotAccepted(StatekeeperError):
    """The current configuration has no enabled transition for an external event.

    The event was not applied: state and data are unchanged.  A chart marks an event as
    harmless in a state with ``ignore=`` when "nothing to do" is the right answer there.
    """

    def __init__(self, event: str, configuration: tuple[str, ...]) -> None:
        self.event = event
        self.configuration = configuration
        super().__init__(
            f"event {event!r} is not accepted in configuration {list(configuration)}"
        )


class MachineFinished(StatekeeperError):
    """An event was sent to an instance that already reached a top-level final state."""

    def __init__(self, event: str, configuration: tuple[str, ...]) -> None:
        self.event = event
        self.configuration = configuration
        super().__init__(
            f"event {event!r} sent to a finished machine (final configuration "
            f"{list(configuration)})"
        )


class SnapshotError(StatekeeperError):
    """A snapshot is malformed, corrupted or not a statekeeper snapshot at all."""


class SnapshotMismatch(SnapshotError):
    """A snapshot was taken from a different chart (name, version or structure hash)."""


class ExecutionError(StatekeeperError):
    """An action, guard or expression failed while a step ran.

    Inside a step this never escapes: it becomes the ``error.execution`` event, as SCXML
    requires.  It is raised to the caller only where no chart is running (a livelock guard).
    """
