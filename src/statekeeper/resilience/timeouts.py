"""Timeouts: a per-attempt limit and an overall deadline, as arithmetic over times you pass."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.durations import Duration, parse_duration

__all__ = ["Timeout"]


@dataclass(frozen=True, slots=True, init=False)
class Timeout:
    """How long one attempt may run, and how long all attempts together may take.

    Args:
        attempt: the per-attempt limit (``None``: none).
        deadline: the overall budget from the first attempt's start (``None``: none).

    """

    attempt: float | None
    deadline: float | None

    def __init__(self, attempt: Duration | None = None, *, deadline: Duration | None = None) -> None:
        object.__setattr__(self, "attempt", None if attempt is None else parse_duration(attempt))
        object.__setattr__(self, "deadline", None if deadline is None else parse_duration(deadline))
        if self.attempt == 0 or self.deadline == 0:
            raise ValueError("a timeout of 0 would fail every attempt")

    def budget(self, first_started: float, now: float) -> float | None:
        """Seconds the attempt starting ``now`` may run (``None``: unlimited; ``0``: none left)."""
        limits = [t for t in (self.attempt,) if t is not None]
        if self.deadline is not None:
            limits.append(max(0.0, self.deadline - (now - first_started)))
        return min(limits) if limits else None

    def expired(self, first_started: float, now: float) -> bool:
        """Whether the overall deadline has passed."""
        return self.deadline is not None and now - first_started >= self.deadline
