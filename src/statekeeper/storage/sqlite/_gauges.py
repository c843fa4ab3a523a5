"""The SQLite store's gauges: ``Store.state_counts`` and ``Store.stuck_count``.

A mixin of :class:`~statekeeper.storage.sqlite.SQLiteStore`, apart for size.  The migration
``*_state_counts.sql`` says how the counts are kept (triggers, in the instance row's
transaction) and which index the stuck count reads.
"""

from __future__ import annotations

from typing import Any

from .._gauges import Counts, Drift, check_stuck, drift
from ._connection import Connections
from ._schema import QUERIES as Q

__all__ = ["GaugeQueries"]


class GaugeQueries:
    """``state_counts`` and ``stuck_count`` over the store's connections."""

    _db: Connections

    def state_counts(self) -> dict[tuple[str, str, str], int]:
        rows: list[Any] = self._db.read(lambda cur: cur.execute(Q["state_counts"]).fetchall())
        return _counts(rows)

    def recount_states(self, *, repair: bool = False) -> Drift:
        def recount(cur: Any) -> Drift:
            kept = _counts(cur.execute(Q["state_counts"]).fetchall())
            found = drift(kept, _counts(cur.execute(Q["counted_states"]).fetchall()))
            if repair:  # whole configurations, as the triggers keep them
                cur.execute(Q["clear_configuration_counts"])
                cur.execute(Q["recount_configurations"])
            return found

        return self._db.write(recount) if repair else self._db.read(recount, snapshot=True)

    def stuck_count(self, chart: str, state: str, before: float) -> int:
        params = {"chart": chart, "state": state, "before": check_stuck(chart, state, before)}
        row: Any = self._db.read(lambda cur: cur.execute(Q["stuck_instances"], params).fetchone())
        return int(row[0])


def _counts(rows: list[Any]) -> Counts:
    return {(chart, version, state): int(count) for chart, version, state, count in rows}
