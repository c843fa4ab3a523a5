"""Bulkheads and rate limits: keyed capacity, as pure decisions over state you keep.

A bulkhead caps how many calls to one key run at once; a token bucket caps how many start per
unit of time, with bursts.  Both states are plain data so the durable runtime can keep them in
the store, shared by every worker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..core.durations import parse_duration

__all__ = ["Bucket", "Bulkhead", "RateDecision", "RateLimit"]


@dataclass(frozen=True, slots=True)
class Bulkhead:
    """At most ``max_concurrent`` calls per key at once."""

    max_concurrent: int

    def __post_init__(self) -> None:
        if isinstance(self.max_concurrent, bool) or self.max_concurrent < 1:
            raise ValueError(f"max_concurrent must be at least 1, not {self.max_concurrent!r}")

    def acquire(self, in_use: int) -> tuple[bool, int]:
        """Try to take a slot: ``(allowed, in_use afterwards)``."""
        if in_use >= self.max_concurrent:
            return False, in_use
        return True, in_use + 1

    def release(self, in_use: int) -> int:
        """Give a slot back."""
        if in_use <= 0:
            raise ValueError("released a bulkhead slot that was not taken")
        return in_use - 1


@dataclass(frozen=True, slots=True)
class Bucket:
    """A token bucket's state: tokens left and when they were counted."""

    tokens: float
    updated_at: float

    def to_dict(self) -> dict[str, Any]:
        return {"tokens": self.tokens, "updated_at": self.updated_at}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Bucket:
        return cls(float(raw["tokens"]), float(raw["updated_at"]))


@dataclass(frozen=True, slots=True)
class RateDecision:
    """Whether a call may start; if not, how long until it could."""

    allowed: bool
    wait: float
    bucket: Bucket


_RATE = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*/\s*(.+?)\s*$")


@dataclass(frozen=True, slots=True, init=False)
class RateLimit:
    """A token bucket: ``rate`` tokens per second, holding at most ``burst``.

    ``rate`` may be written ``"10/s"``, ``"600/m"``, ``"5/250ms"`` or given as a number per
    second; ``burst`` defaults to one second's worth (at least 1).
    """

    rate: float
    burst: float

    def __init__(self, rate: float | str, burst: float | None = None) -> None:
        per_second = _per_second(rate)
        cap = float(burst) if burst is not None else max(1.0, per_second)
        if per_second <= 0 or cap < 1:
            raise ValueError(f"a rate limit needs rate > 0 and burst >= 1 (got {rate!r}, {burst!r})")
        object.__setattr__(self, "rate", per_second)
        object.__setattr__(self, "burst", cap)

    def take(self, bucket: Bucket | None, now: float, cost: float = 1.0) -> RateDecision:
        """Take ``cost`` tokens at ``now`` (a new key starts with a full bucket)."""
        if cost > self.burst:
            raise ValueError(f"a call costing {cost} can never fit a burst of {self.burst}")
        if bucket is None:
            tokens = self.burst
        else:
            tokens = min(self.burst, bucket.tokens + max(0.0, now - bucket.updated_at) * self.rate)
        if tokens >= cost:
            return RateDecision(True, 0.0, Bucket(tokens - cost, now))
        return RateDecision(False, (cost - tokens) / self.rate, Bucket(tokens, now))


def _per_second(rate: float | str) -> float:
    if isinstance(rate, (int, float)) and not isinstance(rate, bool):
        return float(rate)
    if isinstance(rate, str):
        match = _RATE.match(rate)
        if match:
            count, per = match.groups()
            unit = parse_duration(per if per[0].isdigit() else f"1{per}")
            if unit > 0:
                return float(count) / unit
    raise ValueError(f"not a rate: {rate!r} (write e.g. '10/s', '600/m' or a number per second)")
