"""Text tables, times and durations as the audit commands print them.

Why a module: ``audit`` and ``history`` print the same columns the same way, and a person
reads times in UTC as dates and durations as ``3m 20s``, not as seconds since 1970.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from statekeeper.core.durations import parse_duration

from ._common import CommandError

__all__ = ["duration", "moment", "table", "time_argument"]


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Lines of a table: each column as wide as its widest cell, two spaces between."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    return ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
            for line in (headers, *rows)]


def moment(at: float) -> str:
    """A time of the store's clock as a UTC date and time, to the millisecond."""
    try:
        return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    except (OverflowError, OSError, ValueError):
        return repr(at)


def duration(seconds: float | None) -> str:
    """``2d 3h``, ``4m 05s``, ``1.250s`` or ``15ms``: the two largest units, ``-`` if unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.3f}s"
    whole = int(seconds)
    for size, unit, small, small_unit in ((86400, "d", 3600, "h"), (3600, "h", 60, "m"),
                                          (60, "m", 1, "s")):
        if whole >= size:
            return f"{whole // size}{unit} {(whole % size) // small:02d}{small_unit}"
    return f"{seconds:.3f}s"  # pragma: no cover - every whole >= 60 has a unit above


def time_argument(option: str, text: str, now: float | None = None) -> float:
    """A time on the command line: ISO 8601 (UTC unless it says), seconds, or ``2h`` ago.

    Raises:
        CommandError: none of the three.

    """
    try:
        return float(text) if text.strip() and _plain_number(text) else _iso(text)
    except ValueError:
        pass
    try:
        return (time.time() if now is None else now) - parse_duration(text)
    except ValueError:
        raise CommandError(f"{option} {text!r}: give a date and time (2026-12-01T08:00, UTC "
                           f"unless it names a zone), seconds since 1970, or how long ago "
                           f"(2h, 30d)") from None


def _plain_number(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return math.isfinite(value)


def _iso(text: str) -> float:
    parsed = datetime.fromisoformat(text.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
