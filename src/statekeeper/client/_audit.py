"""The audit part of the clients: the transition log across instances, and its retention.

Split from ``_base`` for size; :class:`~statekeeper.client.Client` and
:class:`~statekeeper.client.AsyncClient` call these through ``_BaseClient``.  Every argument
is checked here, before the store is read, with the same named errors as the other
methods; see ``docs/observability.md``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..core.durations import parse_duration
from ..runtime.retention import PruneReport, prune_log
from ..storage.audit import AuditCursor, AuditFilter
from ..storage.records import TransitionRecord
from ..storage.tables import OUTCOMES
from .errors import ArgumentTypeError, InvalidArgument

if TYPE_CHECKING:
    from ..clock import Clock
    from ..core.limits import Limits
    from ..storage.base import Store

__all__ = ["AuditMixin", "AuditPage", "Time"]

#: a time as the store keeps it (seconds of the client's clock) or as a datetime
Time = float | datetime


class AuditPage(list[TransitionRecord]):
    """One page of an audit query, in time order; ``after`` is where the next page starts.

    Pass ``page.after`` as ``after=`` for the next page; it is ``None`` on the last page (one
    with fewer rows than the ``limit``).  A cursor names the last row's place in the log's
    order (its time, then its id), so rows that share a time are never skipped nor repeated.
    """

    __slots__ = ("after",)

    def __init__(self, rows: Iterable[TransitionRecord] = (), after: str | None = None) -> None:
        super().__init__(rows)
        self.after = after


def cursor_text(row: TransitionRecord) -> str:
    """The cursor after ``row``: its time and id, as text a command line can carry."""
    return f"{row.at!r}/{row.id}"


def _cursor(after: Any) -> AuditCursor | None:
    if after is None:
        return None
    if not isinstance(after, str):
        raise ArgumentTypeError(f"audit() after= takes a page's cursor (a string), not "
                                f"{after!r}")
    at, _, row_id = after.partition("/")
    try:
        cursor = (float(at), int(row_id))
    except ValueError:
        cursor = None
    if cursor is None or not math.isfinite(cursor[0]):
        raise InvalidArgument(f"audit() after= {after[:40]!r} is not a cursor; pass the "
                              f"'after' of the previous page as it was given")
    return cursor


def _time(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ArgumentTypeError(f"audit() {name}= takes a time (seconds of the client's clock "
                                f"or a datetime) or None, not {value!r}")
    if not math.isfinite(value):
        raise InvalidArgument(f"audit() {name}= must be a finite time, not {value!r}")
    return float(value)


class AuditMixin:
    """Methods over the client's store and clock (set by ``_BaseClient``)."""

    store: Store
    clock: Clock
    limits: Limits

    if TYPE_CHECKING:
        def _operators_only(self, what: str, instance_id: str | None = None) -> None: ...

    def _audit(self, *, instance: str | None, chart: str | None, actor: str | None,
               event: str | None, state: str | None, outcome: str | None, since: Any,
               until: Any, limit: int, after: str | None) -> AuditPage:
        from ._base import check_count, check_text  # _base imports this module

        self._operators_only("audit")
        for name, value in (("instance", instance), ("chart", chart), ("actor", actor),
                            ("event", event), ("state", state)):
            check_text("audit", name, value, optional=True,
                       longest=self.limits.max_name_length)
        if outcome is not None and outcome not in OUTCOMES:
            raise InvalidArgument(f"audit() outcome= is one of {', '.join(sorted(OUTCOMES))}, "
                                  f"not {outcome!r}")
        check_count("audit", "limit", limit, least=1)
        filters = AuditFilter(instance=instance, chart=chart, actor=actor, event=event,
                              state=state, outcome=outcome, since=_time("since", since),
                              until=_time("until", until))
        rows = self.store.audit(filters, limit=limit, after=_cursor(after))
        return AuditPage(rows, cursor_text(rows[-1]) if len(rows) == limit else None)

    def _prune(self, older_than: Any, archive: Any) -> PruneReport:
        if not isinstance(older_than, str | int | float | timedelta) or isinstance(
                older_than, bool):
            raise ArgumentTypeError(f"prune_audit() older_than= takes a duration ('30d', "
                                    f"seconds or a timedelta), not {older_than!r}")
        try:
            age = parse_duration(older_than)
        except ValueError as exc:
            raise InvalidArgument(f"prune_audit() older_than=: {exc}") from None
        if not isinstance(archive, str | os.PathLike) or not os.fspath(archive):
            raise ArgumentTypeError(f"prune_audit() archive= takes the path of a JSON Lines "
                                    f"file, not {archive!r}")
        return prune_log(self.store, self.clock.now() - age, archive)
