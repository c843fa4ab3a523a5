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
from operator import itemgetter
from typing import Any

from ..logging import GroupFileHandler
from ..storage.records import Commit, TransitionRecord

__all__ = ["EFFECTS", "EFFECT_FIELDS", "MARKER", "TRANSITIONS", "TRANSITION_FIELDS",
           "flush_grouped", "log_effect", "log_migrations", "log_transitions"]

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


#: the marker our records carry for :class:`~statekeeper.logging.JsonFormatter`'s fast path
MARKER = "_statekeeper_fields"
_TRANSITION_GETTER = itemgetter(*TRANSITION_FIELDS)
_EFFECT_GETTER = itemgetter(*EFFECT_FIELDS)
_new_record = logging.LogRecord.__new__


def _shared(logger: logging.Logger, level: int) -> logging.LogRecord:
    """The attributes every record of one call shares: ``LogRecord.__init__``'s work, once.

    The time, thread, process and task names, level name and source location are the same
    for every record the engine makes after one group commit (one thread, one moment), and
    computing them is most of a record's cost, so they are computed by ``makeRecord`` once
    per group (a custom record factory or logger class is honoured) and copied.
    """
    return logger.makeRecord(logger.name, level, __file__, 0, "", (), None)


def _record(shared: logging.LogRecord, message: str, args: tuple[Any, ...],
            fields: dict[str, Any]) -> logging.LogRecord:
    """A copy of ``shared`` with its message and fields: one record of the group."""
    record = _new_record(type(shared))
    record.__dict__ = {**shared.__dict__, "msg": message, "args": args, **fields}
    return record


def _handle(logger: logging.Logger, shared: logging.LogRecord, message: str,
            args: tuple[Any, ...], fields: dict[str, Any]) -> None:
    """Hand one record to ``logger``, its level already checked by the caller.

    ``logger.handle`` applies the logger's filters, its handlers' levels and filters, and
    propagation, as ``logger.log`` would; ``logger.log`` would also look up the calling
    frame (``findCaller``), of no use here: the caller is always this module.
    """
    logger.handle(_record(shared, message, args, fields))


def _route(logger: logging.Logger, level: int) -> list[logging.Handler] | None:
    """The handlers ``logger.handle`` would call for a record at ``level``, in order.

    ``None`` when the logger is disabled, has a filter (which could drop or change a
    record), or no handler is on the way (``logging.lastResort`` then): then each record
    goes through ``logger.handle``.  Otherwise the same walk as ``Logger.callHandlers``:
    up the parents while they propagate, the handlers whose level lets ``level`` through
    (a parent's filters are not applied by ``callHandlers``, a handler's by ``handle``).
    """
    if logger.disabled or logger.filters:
        return None
    handlers: list[logging.Handler] = []
    found = False
    current: logging.Logger | None = logger
    while current is not None:
        for handler in current.handlers:
            found = True
            if level >= handler.level:
                handlers.append(handler)
        current = current.parent if current.propagate else None
    return handlers if found else None


def _dispatch(logger: logging.Logger, level: int, records: list[logging.LogRecord]) -> None:
    """Hand a group's ``records`` to the handlers, as ``logger.handle`` of each would.

    Why not one ``logger.handle`` per record: with no filter on the logger, its walk to
    the handlers is the same for every record of the group, so it is made once; a
    :class:`~statekeeper.logging.GroupFileHandler` with no filter takes the whole group
    under one lock, in one ``write``.  Every other handler gets ``handle`` per record, so
    its filters apply.  Each handler sees the records in order; what differs from a
    record-by-record walk is only the order across handlers (a handler gets the group's
    records before the next handler does).
    """
    handlers = _route(logger, level)
    if handlers is None:
        for record in records:
            logger.handle(record)
        return
    for handler in handlers:
        if type(handler) is GroupFileHandler and not handler.filters:
            handler.handle_group(records)
        else:
            for record in records:
                handler.handle(record)


def _marker(shared: logging.LogRecord, names: tuple[str, ...],
            getter: itemgetter[Any]) -> tuple[tuple[str, ...], itemgetter[Any], int]:
    """What :class:`~statekeeper.logging.JsonFormatter` needs to write a record of ours fast.

    The field names, a getter of their values, and the number of attributes the record has
    when made: a filter that adds one changes the count, and the formatter then takes the
    general path that writes every extra attribute.  (Counted without a set: no standard
    attribute has a field's name; should a custom record factory add one, the count is
    off and the record takes the general path, which is only slower.)
    """
    return names, getter, len(shared.__dict__) + len(names) + 1


def _row_record(made: type[logging.LogRecord], shared: dict[str, Any], chart: str,
                row: TransitionRecord, since: float | None, marker: Any) -> logging.LogRecord:
    """The record of one transition row: ``shared``'s attributes, its message and fields.

    One dictionary, built at once (not the fields then a merge): it is per record.
    """
    record = _new_record(made)
    record.__dict__ = {
        **shared, "msg": "%s %s: %s -> %s (%s)",
        "args": (row.instance, row.event, " ".join(row.source) or "(start)",
                 " ".join(row.target), row.outcome),
        "instance": row.instance, "chart": chart, "chart_version": row.chart_version,
        "seq": row.seq, "event": row.event, "source": list(row.source),
        "target": list(row.target),
        "in_source": None if since is None else max(0.0, row.at - since),
        "actor": row.actor, "outcome": row.outcome, "reason": row.reason,
        "trace_id": row.trace_id or "", "at": row.at, MARKER: marker}
    return record


def log_transitions(level: int, committed: Iterable[tuple[Commit, float | None]]) -> None:
    """A record per transition row of ``committed``, then a flush of buffering handlers.

    Each commit comes with when its instance entered its configuration before the step
    (``None`` for a start).  The caller has checked ``TRANSITIONS.isEnabledFor(level)`` once for the group.
    The records of one call share their creation time, thread and process attributes (see
    :func:`_shared`) and are handed to the handlers together (see :func:`_dispatch`).  A
    :class:`~statekeeper.logging.GroupFileHandler` on the way is flushed once, after the
    group's records, instead of once per record.
    """
    shared = _shared(TRANSITIONS, level)
    marker = _marker(shared, TRANSITION_FIELDS, _TRANSITION_GETTER)
    made, attributes = type(shared), shared.__dict__
    records = [_row_record(made, attributes, commit.instance.chart, row, since, marker)
               for commit, since in committed for row in commit.transitions]
    _dispatch(TRANSITIONS, level, records)
    flush_grouped(TRANSITIONS, EFFECTS)


def flush_grouped(*loggers: logging.Logger) -> None:
    """Flush the :class:`~statekeeper.logging.GroupFileHandler` s a record of ``loggers`` reaches.

    The same walk ``Logger.callHandlers`` makes: up the parents while they propagate; a
    handler on the way of several loggers is flushed once.
    """
    flushed: list[logging.Handler] = []
    for logger in loggers:
        current: logging.Logger | None = logger
        while current is not None:
            for handler in current.handlers:
                if isinstance(handler, GroupFileHandler) and handler not in flushed:
                    handler.flush()
                    flushed.append(handler)
            current = current.parent if current.propagate else None


def log_migrations(level: int, commits: Sequence[tuple[Commit, float | None]]) -> None:
    """A record per committed migration (each with when its instance entered its configuration)."""
    if TRANSITIONS.isEnabledFor(level):
        log_transitions(level, commits)


def log_effect(level: int, *, instance: str, effect: str, key: str, attempt: int,
               outcome: str, error: str | None, duration: float | None, retry_in: float,
               at: float, trace_id: str | None = None) -> None:
    """A record of one effect attempt that called the effect (when the logger takes it).

    ``trace_id`` is the trace context its outbox row keeps (the step's ``traceparent``).
    Why a successful attempt's record is not flushed here: its outcome event is committed
    in a group of the engine, whose records' flush takes it too (one ``write`` for both);
    a failed attempt may be retried with no group in between, so its record is flushed at
    once, as is any when transition records are off (no group flush would come).
    """
    if not EFFECTS.isEnabledFor(level):
        return
    shared = _shared(EFFECTS, level)
    fields = {"instance": instance, "effect": effect, "key": key, "attempt": attempt,
              "outcome": outcome, "error": error, "duration": duration,
              "retry_in": retry_in, "trace_id": trace_id or "", "at": at,
              MARKER: _marker(shared, EFFECT_FIELDS, _EFFECT_GETTER)}
    if error is None:
        _handle(EFFECTS, shared, "%s effect %s attempt %d: %s",
                (instance, effect, attempt, outcome), fields)
    else:
        _handle(EFFECTS, shared, "%s effect %s attempt %d: %s: %s",
                (instance, effect, attempt, outcome, error), fields)
    if outcome != "ok" or not TRANSITIONS.isEnabledFor(level):
        flush_grouped(EFFECTS)
