"""The result of one step: the next snapshot and what the world must do, as data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .commands import (
    CancelTimer,
    Command,
    Microstep,
    RunEffect,
    SendEvent,
    StartTimer,
)
from .events import Event
from .snapshot import Snapshot

__all__ = ["Status", "StepResult"]

Status = Literal["applied", "ignored", "rejected"]


@dataclass(frozen=True, slots=True)
class StepResult:
    """What one step did.

    Attributes:
        snapshot: the next snapshot (the input one, unchanged, when ``status != "applied"``
            apart from a fired timer being removed).
        commands: what the driver must do, in order.
        microsteps: the microsteps taken, for listeners and the audit log.
        status: ``"applied"``; ``"ignored"`` (nothing enabled, but the chart marks the event
            ignorable, or it came from a cancelled invocation); ``"rejected"`` (nothing
            enabled: the caller should see :class:`~statekeeper.EventNotAccepted`).
        event: the event processed (``None`` for the initial step).
        static: the outcome depended only on the configuration and the event name (no guard,
            action, data or history was involved), so a driver may memoise it.

    """

    snapshot: Snapshot
    commands: tuple[Command, ...]
    microsteps: tuple[Microstep, ...]
    status: Status
    event: Event | None
    static: bool = False

    @property
    def effects(self) -> tuple[RunEffect, ...]:
        return tuple(c for c in self.commands if isinstance(c, RunEffect))

    @property
    def timers(self) -> tuple[StartTimer, ...]:
        return tuple(c for c in self.commands if isinstance(c, StartTimer))

    @property
    def cancelled_timers(self) -> tuple[CancelTimer, ...]:
        return tuple(c for c in self.commands if isinstance(c, CancelTimer))

    @property
    def sends(self) -> tuple[SendEvent, ...]:
        return tuple(c for c in self.commands if isinstance(c, SendEvent))

    @property
    def configuration(self) -> tuple[str, ...]:
        return self.snapshot.configuration

