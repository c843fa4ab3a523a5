"""Reading the transition log across instances: the filters, the order of pages, and prunes.

Why a module of its own: every backend answers the same audit query, and without one shared
description of it (what each filter means, how a cursor orders rows, which rows a prune may
delete) each would answer a corner case its own way.  The memory store also evaluates the
filters here (:func:`matches`); the SQL stores turn them into ``WHERE`` terms their indexes
serve.

The order is ``(at, id)``: time first, the store-assigned id to break ties, so a page ends at
a row that names a unique place (the cursor) and the next page starts right after it, however
many rows share a time.  A row committed after a page was read, with a time before that
page's cursor (another process whose clock is behind, say), is not seen by a reader who
already went past it: the log is a record of the past, read as it was.

A prune never deletes an instance's latest row (``seq`` equal to the instance's ``rev``): it
is what proves the instance's ``rev`` to ``statekeeper check`` and to a commit whose outcome
was uncertain, and it costs one row per instance.  Of the rows :meth:`Store.prunable` offers,
:mod:`statekeeper.runtime.retention` deletes only each log's beginning (times need not rise
with ``seq`` when processes' clocks differ), so a pruned log is a run of ``seq`` values
without gaps that ends at the instance's ``rev`` but may start after 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .records import TransitionRecord
from .tables import OUTCOMES

__all__ = ["AuditCursor", "AuditFilter", "SqlAudit", "check_audit", "check_prune", "check_prune_rows",
           "matches", "sql_terms", "transition_dict"]

#: the ``(at, id)`` of the last row of a page: where the next page starts (after it)
AuditCursor = tuple[float, int]

_TEXT_FILTERS = ("instance", "chart", "actor", "event", "state")


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which transition rows an audit query returns: every given filter must hold.

    ``state`` matches a row whose source or target configuration holds that state id
    (compound and parallel ancestors included, as a configuration lists them).  ``since``
    and ``until`` bound the row's time: ``since <= at < until``.
    """

    instance: str | None = None
    chart: str | None = None
    actor: str | None = None
    event: str | None = None
    state: str | None = None
    outcome: str | None = None
    since: float | None = None
    until: float | None = None


def _number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and value == value


def check_audit(filters: AuditFilter, limit: int, after: AuditCursor | None) -> None:
    """An audit query's arguments, checked the same way by every store.

    Raises:
        TypeError: a filter, the limit or the cursor has the wrong type.
        ValueError: an unknown outcome, or a limit below 1.

    """
    if not isinstance(filters, AuditFilter):
        raise TypeError(f"audit filters are an AuditFilter, not {filters!r}")
    for name in _TEXT_FILTERS:
        value = getattr(filters, name)
        if value is not None and type(value) is not str:
            raise TypeError(f"audit {name}= takes a string or None, not {value!r}")
    if filters.outcome is not None and filters.outcome not in OUTCOMES:
        raise ValueError(f"audit outcome= is one of {', '.join(sorted(OUTCOMES))} (or None "
                         f"for every outcome), not {filters.outcome!r}")
    for name in ("since", "until"):
        value = getattr(filters, name)
        if value is not None and not _number(value):
            raise TypeError(f"audit {name}= is a time in seconds (a number) or None, not "
                            f"{value!r}")
    if type(limit) is not int:
        raise TypeError(f"audit limit= takes an int, not {limit!r}")
    if limit < 1:
        raise ValueError(f"audit limit= must be at least 1, not {limit}")
    if after is not None and not (isinstance(after, tuple) and len(after) == 2
                                  and _number(after[0]) and type(after[1]) is int):
        raise TypeError(f"audit after= is the (at, id) of a page's last row, not {after!r}")


def check_prune(before: float, limit: int, after: AuditCursor | None) -> None:
    """A prune read's arguments, checked the same way by every store.

    Raises:
        TypeError: a time that is not a number, a limit that is not an int, or a cursor
            that is not an ``(at, id)`` pair.
        ValueError: a limit below 1.

    """
    if not _number(before):
        raise TypeError(f"prune before= is a time in seconds (a number), not {before!r}")
    check_audit(AuditFilter(), limit, after)


def check_prune_rows(rows: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """The ``(instance, seq)`` keys of rows to delete, as every store takes them.

    Raises:
        TypeError: not a list or tuple of ``(str, int)`` pairs.

    """
    if not isinstance(rows, list | tuple) or any(
            not isinstance(r, tuple) or len(r) != 2 or type(r[0]) is not str
            or type(r[1]) is not int for r in rows):
        raise TypeError(f"prune takes a list of (instance, seq) pairs, not {rows!r}")
    return list(rows)


def matches(row: TransitionRecord, chart: str | None, filters: AuditFilter) -> bool:
    """Whether ``row`` (of an instance of ``chart``) passes ``filters``: the memory store's test."""
    return ((filters.instance is None or row.instance == filters.instance)
            and (filters.chart is None or chart == filters.chart)
            and (filters.actor is None or row.actor == filters.actor)
            and (filters.event is None or row.event == filters.event)
            and (filters.outcome is None or row.outcome == filters.outcome)
            and (filters.state is None or filters.state in row.source
                 or filters.state in row.target)
            and (filters.since is None or row.at >= filters.since)
            and (filters.until is None or row.at < filters.until))


def sql_terms(filters: AuditFilter, after: AuditCursor | None,
              limit: int) -> tuple[list[str], dict[str, Any]]:
    """The names of the ``audit_where_*`` queries an SQL store joins with AND, and their values.

    Only the filters given become terms (a term written ``:x IS NULL OR col = :x`` cannot use
    an index), so each query is one an index serves.
    """
    names: list[str] = []
    params: dict[str, Any] = {"limit": limit}
    for name in ("instance", "chart", "actor", "event", "outcome", "state", "since",
                 "until"):
        value = getattr(filters, name)
        if value is not None:
            names.append(f"audit_where_{name}")
            params[name] = value
    if filters.outcome is not None and filters.outcome != "applied":
        names.append("audit_where_rare_outcome")
    if after is not None:
        names.append("audit_where_after")
        params["after_at"], params["after_id"] = after
    return names, params


def transition_dict(row: TransitionRecord) -> dict[str, Any]:
    """A transition row as a JSON object: one line of an archive, or of ``--json`` output.

    Every column, so an archived row can be read back whole (:class:`TransitionRecord`
    takes these keys, with ``source`` and ``target`` as tuples).
    """
    return {"id": row.id, "instance": row.instance, "seq": row.seq, "event": row.event,
            "source": list(row.source), "target": list(row.target),
            "chart_version": row.chart_version, "outcome": row.outcome, "at": row.at,
            "data": row.data, "actor": row.actor, "trace_id": row.trace_id,
            "reason": row.reason, "idempotency_key": row.idempotency_key,
            "microsteps": row.microsteps}


class SqlAudit:
    """``audit`` and ``prunable`` of a store that reads its log by the SQL terms of ``sql_terms``.

    SQLite and PostgreSQL differ only in how a query built from those terms is run and its
    rows decoded (``_audit_rows``); the checks and the terms are the same, so they live here once.
    """

    def _audit_rows(self, names: list[str], params: dict[str, Any]) -> list[TransitionRecord]:
        raise NotImplementedError

    def audit(self, filters: AuditFilter, *, limit: int = 100,
              after: AuditCursor | None = None) -> list[TransitionRecord]:
        check_audit(filters, limit, after)
        return self._audit_rows(*sql_terms(filters, after, limit))

    def prunable(self, before: float, *, limit: int = 1000,
                 after: AuditCursor | None = None) -> list[TransitionRecord]:
        check_prune(before, limit, after)
        names, params = sql_terms(AuditFilter(until=before), after, limit)
        return self._audit_rows([*names, "audit_where_prunable"], params)
