"""What every store checks before counting stuck instances (``Store.stuck_count``).

Apart so that the memory, SQLite and PostgreSQL stores refuse the same bad arguments with
the same words.
"""

from __future__ import annotations

import math

__all__ = ["check_stuck"]


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
