"""Structured log records: one per committed transition, one per effect attempt.

Through the standard :mod:`logging` module, so any handler and formatter works (a JSON one is
offered: :class:`statekeeper.logging.JsonFormatter`).  Each record carries its fields as
attributes (``record.instance``, ``record.event`` ...: the names in :data:`TRANSITION_FIELDS`
and :data:`EFFECT_FIELDS`), besides a one-line message a person can read.

Why the care about cost: these are on the hot path, tens of thousands of transitions a
second.  They are logged at ``DEBUG`` unless the client asks for another level, and the
engine asks :meth:`logging.Logger.isEnabledFor` once per committed group, not once per
record: a disabled logger costs one cached dictionary lookup per group.  Records are made
after the commit is durable, from what the commit wrote, so a record never tells of a step
that did not happen.

``in_source`` is the number of seconds the instance spent in its source configuration: since
it entered it (``InstanceRecord.entered_at``, kept by the store), whatever was committed in
between; in a parallel state, since any region last moved.  ``trace_id`` is
the caller's, when it gave one, else the W3C ``traceparent`` the step continued (an effect
attempt's: the one its outbox row keeps).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from ..storage.records import Commit, TransitionRecord

__all__ = ["EFFECTS", "EFFECT_FIELDS", "TRANSITIONS", "TRANSITION_FIELDS", "log_effect",
           "log_migrations", "log_transitions"]

#: one record per committed transition row
TRANSITIONS = logging.getLogger("statekeeper.transitions")
#: one record per effect attempt that called the effect
EFFECTS = logging.getLogger("statekeeper.effects")

#: the attributes of a transition record
TRANSITION_FIELDS = ("instance", "chart", "chart_version", "seq", "event", "source", "target",
                     "in_source", "actor", "outcome", "reason", "trace_id", "at")
#: the attributes of an effect attempt's record
EFFECT_FIELDS = ("instance", "effect", "key", "attempt", "outcome", "error", "duration",
                 "retry_in", "trace_id", "at")


def _row_fields(chart: str, row: TransitionRecord, since: float | None) -> dict[str, Any]:
    return {"instance": row.instance, "chart": chart, "chart_version": row.chart_version,
            "seq": row.seq, "event": row.event, "source": list(row.source),
            "target": list(row.target),
            "in_source": None if since is None else max(0.0, row.at - since),
            "actor": row.actor, "outcome": row.outcome, "reason": row.reason,
            "trace_id": row.trace_id or "", "at": row.at}


def _record(logger: logging.Logger, level: int, message: str, args: tuple[Any, ...],
            fields: dict[str, Any]) -> None:
    """Hand one record to ``logger``'s handlers, its level already checked by the caller.

    ``Logger.log`` would also look up the calling frame (``findCaller``), a third of a
    record's cost here and of no use: the caller is always this module.
    """
    logger.handle(logger.makeRecord(logger.name, level, __file__, 0, message, args, None,
                                    extra=fields))


def _emit(level: int, chart: str, row: TransitionRecord, since: float | None) -> None:
    _record(TRANSITIONS, level, "%s %s: %s -> %s (%s)",
            (row.instance, row.event, " ".join(row.source) or "(start)", " ".join(row.target),
             row.outcome), _row_fields(chart, row, since))


def log_transitions(level: int, committed: Iterable[tuple[Commit, float | None]]) -> None:
    """A record per transition row of ``committed``.

    Each commit comes with when its instance entered its configuration before the step
    (``None`` for a start).  The caller has checked ``TRANSITIONS.isEnabledFor(level)`` once for the group.
    """
    for commit, since in committed:
        chart = commit.instance.chart
        for row in commit.transitions:
            _emit(level, chart, row, since)


def log_migrations(level: int, commits: Sequence[tuple[Commit, float | None]]) -> None:
    """A record per committed migration (each with when its instance entered its configuration)."""
    if TRANSITIONS.isEnabledFor(level):
        log_transitions(level, commits)


def log_effect(level: int, *, instance: str, effect: str, key: str, attempt: int,
               outcome: str, error: str | None, duration: float | None, retry_in: float,
               at: float, trace_id: str | None = None) -> None:
    """A record of one effect attempt that called the effect (when the logger takes it).

    ``trace_id`` is the trace context its outbox row keeps (the step's ``traceparent``).
    """
    if not EFFECTS.isEnabledFor(level):
        return
    fields = {"instance": instance, "effect": effect, "key": key, "attempt": attempt,
              "outcome": outcome, "error": error, "duration": duration,
              "retry_in": retry_in, "trace_id": trace_id or "", "at": at}
    if error is None:
        _record(EFFECTS, level, "%s effect %s attempt %d: %s",
                (instance, effect, attempt, outcome), fields)
    else:
        _record(EFFECTS, level, "%s effect %s attempt %d: %s: %s",
                (instance, effect, attempt, outcome, error), fields)
