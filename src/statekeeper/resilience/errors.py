"""Errors and attempt records shared by every place that applies a resilience policy."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.errors import StatekeeperError

__all__ = ["Attempt", "BreakerOpen", "ResilienceError", "RetriesExhausted"]


class ResilienceError(StatekeeperError):
    """A policy stopped the work; the state it guarded is unchanged."""


class RetriesExhausted(ResilienceError):
    """Every allowed attempt failed, or the error was fatal, or the deadline passed.

    Attributes:
        work: what was attempted (an event or effect name).
        attempts: how many attempts ran.
        reason: ``"exhausted"``, ``"fatal"`` or ``"deadline"``.
        errors: each attempt's error, as ``"TypeName: message"``.

    """

    def __init__(self, work: str, attempts: int, reason: str, errors: list[str]) -> None:
        self.work = work
        self.attempts = attempts
        self.reason = reason
        self.errors = errors
        last = errors[-1] if errors else "no error"
        super().__init__(f"{work!r} failed after {attempts} attempt(s) ({reason}): {last}")


class BreakerOpen(ResilienceError):
    """The circuit breaker guarding the work is open; no attempt was made."""

    def __init__(self, breaker: str, retry_at: float | None) -> None:
        self.breaker = breaker
        self.retry_at = retry_at
        when = f"; it lets a probe through at t={retry_at:.3f}" if retry_at is not None else ""
        super().__init__(f"circuit breaker {breaker!r} is open{when}")


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt, as reported to attempt hooks (for logs, metrics and traces).

    Attributes:
        work: the event or effect name.
        attempt: its number, from 1.
        phase: ``"started"`` or ``"finished"``.
        outcome: for a finished attempt, ``"ok"``, ``"error"`` or ``"timeout"``.
        error: the error text of a failed attempt.
        delay: the wait before the next attempt (0 when there is none).
        at: the clock's time.
        key: the effect's idempotency key (durable effects only).
        instance: the instance the effect belongs to (durable effects only).

    """

    work: str
    attempt: int
    phase: str
    at: float
    outcome: str | None = None
    error: str | None = None
    delay: float = 0.0
    key: str | None = None
    instance: str | None = None
