"""Every exception statekeeper raises, under one base class a user can catch."""

from __future__ import annotations

__all__ = [
    "ChartError",
    "ChartWarning",
    "EventNotAccepted",
    "ExecutionError",
    "InvalidPayload",
    "LimitExceeded",
    "MachineFinished",
    "ReservedEventName",
    "SnapshotError",
    "SnapshotMismatch",
    "StatekeeperError",
    "UnboundName",
    "UnstorableValue",
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


class ReservedEventName(StatekeeperError, ValueError):
    """A caller sent an event whose name statekeeper keeps for the events it makes itself.

    Names starting with ``statekeeper.`` are timers (``statekeeper.after.<state>.<n>``),
    starts and skipped timers: a hand-sent one would fire a timer early or fake a start.
    Machines and clients refuse it alike; nothing changes.  Also a ``ValueError``, which
    clients raised for it before.
    """

    def __init__(self, event: str) -> None:
        self.event = event
        super().__init__(
            f"{event!r} is not an event a caller may send: names starting with "
            f"'statekeeper.' are reserved for the events statekeeper makes itself (timers, "
            f"starts); name your event without that prefix"
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


class LimitExceeded(StatekeeperError):
    """Input is larger or deeper than a limit allows; refused before the work is done.

    Limits bound what untrusted input can cost (see ``statekeeper.core.limits.Limits`` and
    docs/security.md).  A caller that trusts its input raises them by passing its own ``Limits``.

    Attributes:
        limit: the name of the ``Limits`` field that was breached.
        allowed: its value.
        where: what was being read (a file, a path into a document, "payload").

    """

    def __init__(self, limit: str, allowed: int, where: str, detail: str = "") -> None:
        self.limit = limit
        self.allowed = allowed
        self.where = where
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"{where}: over the limit {limit}={allowed:,}{extra}; pass "
            f"limits=Limits({limit}=...) to raise it if you trust this input"
        )


class InvalidPayload(StatekeeperError, TypeError):
    """An event payload or instance data holds a value JSON cannot carry exactly.

    Payloads and data are stored and compared as JSON: keys must be strings, numbers finite,
    strings valid Unicode.  ``path`` says where the value is (``$.items[2].price``).
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class UnstorableValue(InvalidPayload, ValueError):
    """A step put a value into the data (or an effect's arguments) that JSON cannot hold.

    The durable store refuses the whole commit: nothing is stored and the instance stays as it
    was.  ``path`` says where the value is (``$.data.order.tags``); the fix is in the chart's
    function or assign that computed it.  Also a ``ValueError``, which the store raised before.
    """
