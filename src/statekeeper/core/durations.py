"""Durations as people write them: ``"5m"``, ``"1.5s"``, ``"250ms"``, ``"1d"`` or a ``timedelta``.

SCXML delays use CSS2 time strings (``"2s"``, ``"500ms"``); the same parser accepts both.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta

__all__ = ["MAX_SECONDS", "Duration", "parse_duration"]

#: The longest duration a timer can have: ``timedelta.max`` (999,999,999 days), in seconds.
MAX_SECONDS = timedelta.max.total_seconds()

Duration = str | int | float | timedelta

_UNITS = {
    "ms": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
}
_PART = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|sec|min|s|m|h|d|w)?\s*")


def parse_duration(value: Duration) -> float:
    """Return ``value`` in seconds.

    Numbers are seconds.  Strings are one or more ``<number><unit>`` parts (``"1h30m"``);
    a bare number string is seconds.

    Raises:
        ValueError: the value is negative, not a duration, or longer than ``MAX_SECONDS``
            (a huge number would overflow the clock arithmetic later, deep in a step).

    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    elif isinstance(value, (int, float)):
        try:
            seconds = float(value)
        except OverflowError:
            seconds = math.inf
    elif isinstance(value, str):
        seconds = _parse_text(value)
    else:
        raise ValueError(f"not a duration: {value!r}")
    if seconds < 0 or seconds != seconds:
        raise ValueError(f"duration must be a non-negative number of seconds: {value!r}")
    if seconds > MAX_SECONDS:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise ValueError(f"duration {shown} is longer than the longest a timer can wait "
                         f"(999,999,999 days); write a shorter delay")
    return seconds


def _parse_text(text: str) -> float:
    pos, total, parts = 0, 0.0, 0
    stripped = text.strip()
    while pos < len(stripped):
        match = _PART.match(stripped, pos)
        if match is None or match.end() == pos:
            raise ValueError(f"not a duration: {text!r} (write e.g. '5m', '1.5s', '250ms')")
        number, unit = match.groups()
        total += float(number) * _UNITS[unit or "s"]
        pos, parts = match.end(), parts + 1
    if parts == 0:
        raise ValueError(f"not a duration: {text!r} (write e.g. '5m', '1.5s', '250ms')")
    return total
