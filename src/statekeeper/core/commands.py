"""What a step asks the outside world to do, as data.

The step returns these; a driver (the in-memory machine, the durable runtime, the test
harness) carries them out, and the durable runtime only after the step is committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .events import Event

__all__ = [
    "CancelInvoke",
    "CancelTimer",
    "Command",
    "ForwardEvent",
    "LogEntry",
    "Microstep",
    "RunEffect",
    "SendEvent",
    "StartInvoke",
    "StartTimer",
]


@dataclass(frozen=True, slots=True)
class RunEffect:
    """Run the effect bound to ``name`` with ``args``; ``key`` is stable across retries."""

    name: str
    args: Any
    key: str
    state: str | None = None


@dataclass(frozen=True, slots=True)
class StartTimer:
    """Deliver ``event`` to ``target`` (``None``: this instance) at ``due`` unless cancelled."""

    timer_id: str
    due: float
    event: Event
    target: str | None = None
    #: ``"fire_late"`` or ``"skip"``: what a durable runtime does when it finds it overdue;
    #: ``None``: the chart states neither, and the worker's policy decides
    late: str | None = None


@dataclass(frozen=True, slots=True)
class CancelTimer:
    """Withdraw a pending timer (a ``<cancel>``, or leaving the state of an ``after``)."""

    timer_id: str


@dataclass(frozen=True, slots=True)
class SendEvent:
    """Deliver ``event`` to ``target`` now.

    ``target`` is ``None`` for this instance's own external queue, ``"#_parent"`` for the
    invoking parent, ``"#_<invokeid>"`` for a child, or any target the driver understands
    (another instance id in the durable runtime).
    """

    target: str | None
    event: Event
    type: str | None = None


@dataclass(frozen=True, slots=True)
class StartInvoke:
    """Start work bound to ``state``: a child chart or a task, with evaluated arguments."""

    invokeid: str
    state: str
    type: str
    src: str | None
    content: Any
    params: dict[str, Any]
    autoforward: bool


@dataclass(frozen=True, slots=True)
class CancelInvoke:
    """Stop the invocation ``invokeid`` because its state was left."""

    invokeid: str


@dataclass(frozen=True, slots=True)
class ForwardEvent:
    """Forward an external event to an ``autoforward`` child."""

    invokeid: str
    event: Event


@dataclass(frozen=True, slots=True)
class LogEntry:
    """A ``<log>`` line: the driver decides where it goes."""

    label: str | None
    value: Any


Command = (
    RunEffect | StartTimer | CancelTimer | SendEvent | StartInvoke | CancelInvoke
    | ForwardEvent | LogEntry
)


@dataclass(frozen=True, slots=True)
class Microstep:
    """One microstep, for listeners and the audit log.

    Attributes:
        event: the event that triggered it (``None`` for eventless transitions).
        transitions: ``(source, targets)`` of each transition taken.
        exited: states left, in exit order.
        entered: states entered, in entry order.
        configuration: the active states afterwards, in document order.

    """

    event: str | None
    transitions: tuple[tuple[str, tuple[str, ...]], ...]
    exited: tuple[str, ...]
    entered: tuple[str, ...]
    configuration: tuple[str, ...]
