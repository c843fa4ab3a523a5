"""The SQLite store's gauges: ``Store.state_counts`` and ``Store.stuck_count``.

A mixin of :class:`~statekeeper.storage.sqlite.SQLiteStore`, apart for size.  The migration
``*_state_counts.sql`` says how the counts are kept (triggers, in the instance row's
transaction) and which index the stuck count reads.
"""

from __future__ import annotations

from typing import Any

from .._gauges import check_stuck
from ._connection import Connections
from ._schema import QUERIES as Q

__all__ = ["GaugeQueries"]


class GaugeQueries:
    """``state_counts`` and ``stuck_count`` over the store's connections."""

    _db: Connections

    def state_counts(self) -> dict[tuple[str, str, str], int]:
        rows: list[Any] = self._db.read(lambda cur: cur.execute(Q["state_counts"]).fetchall())
        return {(chart, version, state): int(count) for chart, version, state, count in rows}

    def stuck_count(self, chart: str, state: str, before: float) -> int:
        params = {"chart": chart, "state": state, "before": check_stuck(chart, state, before)}
        row: Any = self._db.read(lambda cur: cur.execute(Q["stuck_instances"], params).fetchone())
        return int(row[0])
