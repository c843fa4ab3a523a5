"""What every store does alike for its gauges: ``stuck_count``'s checks, the recount's shape.

Apart so that the memory, SQLite and PostgreSQL stores refuse the same bad arguments to
``Store.stuck_count`` with the same words, and ``Store.recount_states`` reports a drift of
their kept counts in the same shape.
"""

from __future__ import annotations

import math

__all__ = ["Counts", "Drift", "check_stuck", "drift"]

#: instances per ``(chart, version, state)``
Counts = dict[tuple[str, str, str], int]
#: per ``(chart, version, state)`` whose numbers differ: ``(kept, counted)``
Drift = dict[tuple[str, str, str], tuple[int, int]]


def drift(kept: Counts, counted: Counts) -> Drift:
    """Where the kept counts differ from the instances counted now (a missing one is 0)."""
    return {key: (kept.get(key, 0), counted.get(key, 0))
            for key in sorted(kept.keys() | counted.keys())
            if kept.get(key, 0) != counted.get(key, 0)}


def check_stuck(chart: object, state: object, before: object) -> float:
    """``before`` as a float; a name that is not text or a time that is no number refused.

    Raises:
        TypeError: ``chart`` or ``state`` is not a string, or ``before`` not a number.
        ValueError: ``before`` is NaN.

    """
    for name, value in (("chart", chart), ("state", state)):
        if not isinstance(value, str):
            raise TypeError(f"stuck_count: {name} must be a name (str), not {value!r}")
    if isinstance(before, bool) or not isinstance(before, (int, float)):
        raise TypeError(f"stuck_count: before must be a time in seconds, not {before!r}")
    if math.isnan(before):
        raise ValueError("stuck_count: before must be a time in seconds, not NaN")
    return float(before)
