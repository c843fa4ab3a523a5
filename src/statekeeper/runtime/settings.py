"""Checks of the numbers a caller configures: leases, tolerances, timeouts.

One place, so every setting is refused the same way, by name, when it is given (not later,
in a comparison inside a background thread).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["check_seconds"]


def check_seconds(name: str, value: Any, *, zero: bool, optional: bool = False) -> None:
    """Refuse ``value`` unless it is a finite number of seconds (> 0, or >= 0 if ``zero``).

    ``optional`` also takes ``None`` (wait as long as it takes).

    Raises:
        ValueError: naming the setting and the value given.

    """
    if value is None and optional:
        return
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not math.isfinite(value) or value < 0 or (value == 0 and not zero)):
        raise ValueError(f"{name} must be a number of seconds {'>=' if zero else '>'} 0"
                         f"{' or None' if optional else ''}, not {value!r}")
