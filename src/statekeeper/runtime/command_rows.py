"""The rows a step's commands write: outbox effects, timers set and cancelled, log entries.

Split from :mod:`.planner` for size.  The planner calls :func:`command_rows` only for a step
that has commands; a step without any keeps the commit's shared empty sequences.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from ..core._records import positional_constructor
from ..core.commands import (
    CancelTimer,
    Command,
    LogEntry,
    RunEffect,
    SendEvent,
    StartInvoke,
    StartTimer,
)
from ..storage.records import Commit, EffectRecord, TimerRecord
from .registry import Registered

if TYPE_CHECKING:
    from .planner import Plan

__all__ = ["SELF_SEND_PREFIX", "SEND_EFFECT", "command_rows"]

#: Outbox name of a send to another instance (delivered by the effect worker, durably).
SEND_EFFECT = "statekeeper.send"
#: Timer ids of sends to self with no delay.
SELF_SEND_PREFIX = "statekeeper.send."


def command_rows(plan: Plan, commit: Commit, entry: Registered, instance: str,
              commands: tuple[Command, ...], now: float, rev: int, trace: str | None) -> None:
    """Put the rows and wake-ups of a step's ``commands`` onto ``commit`` and ``plan``."""
    pending_timers = plan.snapshot.timers if plan.snapshot is not None else {}
    effects: list[EffectRecord] = []
    timers: list[TimerRecord] = []
    cancelled: list[str] = []
    logs: list[LogEntry] = []
    for index, command in enumerate(commands):
        if isinstance(command, RunEffect):
            effects.append(EffectRecord(
                key=command.key, instance=instance, name=command.name, args=command.args,
                available_at=now, at_most_once=command.name in entry.at_most_once,
                created_at=now, traceparent=trace))
            plan.wake_effects = True
        elif isinstance(command, StartTimer) and command.target is None:
            timer_id, due = command.timer_id, command.due
            # the event as the snapshot's pending timer holds it (the step wrote it there),
            # not written out a second time (read-only either way)
            pending = pending_timers.get(timer_id)
            timers.append(_new_timer(
                instance=instance, timer_id=timer_id, due=due,
                event=pending["event"] if pending is not None and pending["due"] == due
                else command.event.to_dict(),
                target=None, policy=_POLICIES.get(command.late, "default"),
                traceparent=trace))
            _earliest(plan, due)
        elif isinstance(command, CancelTimer):
            # Set and cancelled in the same step: the row must not be written at all (the
            # store deletes before it inserts, so a cancel cannot undo an insert of its commit).
            if timers:
                timers[:] = [t for t in timers if t.timer_id != command.timer_id]
            cancelled.append(command.timer_id)
        elif isinstance(command, SendEvent) and command.target is None:
            # A send to self with no delay: a timer due now, so it is as durable as the step.
            timer_id = f"{SELF_SEND_PREFIX}{rev}.{index}"
            timers.append(TimerRecord(instance, timer_id, now, command.event.to_dict(),
                                      traceparent=trace))
            _earliest(plan, now)
        elif isinstance(command, (SendEvent, StartTimer)):
            target = command.target
            effects.append(EffectRecord(
                key=f"{instance}:{rev}:{index}:send", instance=instance, name=SEND_EFFECT,
                args={"target": target, "event": command.event.to_dict()},
                available_at=command.due if isinstance(command, StartTimer) else now,
                created_at=now, traceparent=trace))
            plan.wake_effects = True
        elif isinstance(command, LogEntry):
            logs.append(command)
        elif isinstance(command, StartInvoke):
            raise NotImplementedError(
                "the durable runtime does not run <invoke> yet; run this chart in a Machine")
    commit.effects, commit.timers_set, commit.timers_cancelled = effects, timers, cancelled
    plan.logs = logs


#: a timer's row, every field given (by name): one per timer set, in the engine's thread,
#: without the frozen dataclass's ``object.__setattr__`` per field (core/_records.py)
_new_timer = positional_constructor(TimerRecord)
#: a StartTimer's ``late`` as its row's policy (``None``, the worker's: "default")
_POLICIES: dict[str | None, Literal["default", "fire_late", "skip"]] = {
    "skip": "skip", "fire_late": "fire_late"}


def _earliest(plan: Plan, due: float) -> None:
    if plan.next_timer is None or due < plan.next_timer:
        plan.next_timer = due
