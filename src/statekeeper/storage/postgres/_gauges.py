"""The PostgreSQL store's gauges: ``Store.state_counts`` and ``Store.stuck_count``.

A mixin of :class:`~statekeeper.storage.postgres.PostgresStore`, apart for size.  The migration
``*_state_counts.sql`` says how the counts are kept (a statement trigger, into
per-transaction shards that this read sums) and which index the stuck count reads.
"""

from __future__ import annotations

from typing import Any

from .._gauges import Counts, Drift, check_stuck, drift
from ._pool import Connection
from ._use import Database, q

__all__ = ["GaugeQueries"]


class GaugeQueries:
    """``state_counts`` and ``stuck_count`` over the store's connections."""

    _db: Database

    def state_counts(self) -> dict[tuple[str, str, str], int]:
        def read(conn: Connection) -> list[Any]:
            return conn.execute(q("state_counts")).fetchall()

        return _counts(self._db.read(read))

    def recount_states(self, *, repair: bool = False) -> Drift:
        def recount(conn: Connection) -> Drift:
            if repair:
                conn.execute(q("hold_off_instance_writers"))
            kept = _counts(conn.execute(q("state_counts")).fetchall())
            found = drift(kept, _counts(conn.execute(q("counted_states")).fetchall()))
            if repair:
                conn.execute(q("clear_state_counts"))
                conn.execute(q("recount_state_counts"))
            return found

        return self._db.write(recount) if repair else self._db.read(recount, snapshot=True)

    def stuck_count(self, chart: str, state: str, before: float) -> int:
        params = {"chart": chart, "state": state, "before": check_stuck(chart, state, before)}

        def read(conn: Connection) -> int:
            row = conn.execute(q("stuck_instances"), params).fetchone()
            return int(row[0]) if row else 0

        return self._db.read(read)


def _counts(rows: list[Any]) -> Counts:
    return {(chart, version, state): int(count) for chart, version, state, count in rows}
