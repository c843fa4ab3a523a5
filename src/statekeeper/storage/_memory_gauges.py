"""The memory store's gauges: instances per state, and when each entered its configuration.

Kept as the SQL stores keep them (migrations 10 and 8): each instance row written changes
the counts of the states it leaves and enters, under the store's lock, with the row; and the
time an instance entered its configuration is the time of the commit that changed it.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from ._codec import Row
from ._gauges import Counts, Drift, check_stuck, drift
from .tables import INSTANCES

__all__ = ["MemoryGauges"]

_ID, _CHART, _VERSION, _CONFIG, _STATUS, _CREATED, _UPDATED = INSTANCES.positions(
    "id", "chart", "version", "configuration", "status", "created_at", "updated_at")


def _states(row: Row) -> list[str]:
    """The states an instance row counts in: none unless active with a JSON array."""
    if row[_STATUS] != "active":
        return []
    try:
        found = json.loads(row[_CONFIG])
    except (TypeError, ValueError):
        return []
    return [str(s) for s in found] if isinstance(found, list) else []


class MemoryGauges:
    """``state_counts`` and ``stuck_count``, and the bookkeeping ``_write`` calls."""

    _lock: threading.Lock
    _instances: dict[str, Row]

    def _init_gauges(self) -> None:
        self._counts: dict[tuple[str, str, str], int] = {}
        #: when each instance entered its configuration (absent: at its created_at)
        self._entered: dict[str, float] = {}

    def _check_open(self) -> None:
        raise NotImplementedError

    def _counted(self, old: Row | None, new: Row) -> None:
        """Count the instance row ``new`` replacing ``old`` (``None``: a new instance)."""
        if old is not None and old[_CONFIG] != new[_CONFIG]:
            self._entered[new[_ID]] = new[_UPDATED]
        if old is not None and (old[_CONFIG], old[_STATUS], old[_VERSION], old[_CHART]) == (
                new[_CONFIG], new[_STATUS], new[_VERSION], new[_CHART]):
            return
        counts = self._counts
        if old is not None:
            for state in _states(old):
                key = (old[_CHART], old[_VERSION], state)
                counts[key] = counts.get(key, 0) - 1
        for state in _states(new):
            key = (new[_CHART], new[_VERSION], state)
            counts[key] = counts.get(key, 0) + 1

    def _loaded(self, row: Row | None) -> Row | None:
        """``row`` as ``load`` reads it: its columns, then when it entered its configuration."""
        if row is None:
            return None
        return (*row, self._entered.get(row[_ID], row[_CREATED]))

    def state_counts(self) -> dict[tuple[str, str, str], int]:
        with self._lock:
            self._check_open()
            return dict(sorted(self._counts.items()))

    def recount_states(self, *, repair: bool = False) -> Drift:
        with self._lock:
            self._check_open()
            counted: Counts = {}
            for row in self._instances.values():
                for state in _states(row):
                    key = (row[_CHART], row[_VERSION], state)
                    counted[key] = counted.get(key, 0) + 1
            found = drift(self._counts, counted)
            if repair:
                self._counts = counted
            return found

    def stuck_count(self, chart: str, state: str, before: float) -> int:
        before = check_stuck(chart, state, before)
        with self._lock:
            self._check_open()
            rows: list[Any] = [r for r in self._instances.values() if r[_CHART] == chart]
            return sum(1 for r in rows
                       if self._entered.get(r[_ID], r[_CREATED]) < before and state in _states(r))
