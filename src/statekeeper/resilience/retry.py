"""Retry: how many attempts, how long to wait between them, and which errors deserve one.

A :class:`Retry` is a pure decision.  It never sleeps and never reads a clock: the caller says
which attempt just failed, with what, and how long the work has run, and gets back a
:class:`RetryDecision`.  The durable runtime turns a positive decision into a timer in the store,
so a crash during the backoff resumes the schedule instead of restarting it; an in-memory caller
may simply sleep.
"""

from __future__ import annotations

import builtins
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..core.durations import Duration, parse_duration

__all__ = ["Jitter", "Retry", "RetryDecision", "error_names"]

Jitter = Literal["full", "equal", "none"]

#: The random source used when a caller does not pass one (seed your own for reproducible runs).
_DEFAULT_RNG = random.Random()  # jitter spreads load; it need not be unpredictable


def error_names(error: BaseException | type[BaseException] | str) -> tuple[str, ...]:
    """The names an error is matched by: its class and every base class, or the given name.

    A durable effect's error arrives as text (``"ConnectionError: refused"``); its type name is
    what precedes the first colon, and a built-in exception's name also brings its bases (so
    ``"ConnectionRefusedError"`` matches ``OSError``).
    """
    if isinstance(error, str):
        name = error.split(":", 1)[0].strip()
        builtin = getattr(builtins, name, None)
        if isinstance(builtin, type) and issubclass(builtin, BaseException):
            return tuple(c.__name__ for c in builtin.__mro__)
        return (name,)
    cls = error if isinstance(error, type) else type(error)
    return tuple(c.__name__ for c in cls.__mro__)


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """What to do after a failed attempt.

    Attributes:
        retry: whether to make another attempt.
        delay: seconds to wait before it (0 when ``retry`` is false).
        attempt: the number of the next attempt (when ``retry``), else of the failed one.
        reason: ``"retry"``, ``"exhausted"`` (no attempts left), ``"fatal"`` (an error that
            must not be retried) or ``"deadline"`` (the wait would pass the overall deadline).

    """

    retry: bool
    delay: float
    attempt: int
    reason: str


@dataclass(frozen=True, slots=True, init=False)
class Retry:
    """Retry with exponential backoff and jitter.

    Args:
        max_attempts: attempts in all, the first included (``1`` means never retry).
        base_delay: the backoff cap before the first retry.
        max_delay: the backoff cap never grows past this.
        multiplier: the cap grows by this factor per attempt.
        jitter: ``"full"`` (default; a uniform draw in ``[0, cap]``, which spreads retries of
            many instances best), ``"equal"`` (in ``[cap/2, cap]``) or ``"none"`` (exactly cap).
        retry_on: error type names that are retried; empty means every error not ``fatal``.
        fatal: error type names that are never retried (checked first).

    """

    max_attempts: int
    base_delay: float
    max_delay: float
    multiplier: float
    jitter: Jitter
    retry_on: frozenset[str]
    fatal: frozenset[str]

    def __init__(self, max_attempts: int = 3, *, base_delay: Duration = 1.0,
                 max_delay: Duration = 60.0, multiplier: float = 2.0, jitter: Jitter = "full",
                 retry_on: tuple[str | type[BaseException], ...] = (),
                 fatal: tuple[str | type[BaseException], ...] = ()) -> None:
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise ValueError(f"max_attempts must be an integer >= 1, not {max_attempts!r}")
        base, cap = parse_duration(base_delay), parse_duration(max_delay)
        if base > cap:
            raise ValueError(f"base_delay ({base}s) is larger than max_delay ({cap}s)")
        if not multiplier >= 1.0:
            raise ValueError(f"multiplier must be >= 1, not {multiplier!r}")
        if jitter not in ("full", "equal", "none"):
            raise ValueError(f"jitter must be 'full', 'equal' or 'none', not {jitter!r}")
        set_ = object.__setattr__
        set_(self, "max_attempts", max_attempts)
        set_(self, "base_delay", base)
        set_(self, "max_delay", cap)
        set_(self, "multiplier", float(multiplier))
        set_(self, "jitter", jitter)
        set_(self, "retry_on", frozenset(_name(e) for e in retry_on))
        set_(self, "fatal", frozenset(_name(e) for e in fatal))

    def to_dict(self) -> dict[str, Any]:
        """The policy as plain data (what a chart's dict/YAML form and the runtime carry)."""
        return {"max_attempts": self.max_attempts, "base_delay": self.base_delay,
                "max_delay": self.max_delay, "multiplier": self.multiplier,
                "jitter": self.jitter, "retry_on": sorted(self.retry_on),
                "fatal": sorted(self.fatal)}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Retry:
        """Build a policy from its mapping form; unknown keys are a ``ValueError``."""
        known = {"max_attempts", "base_delay", "max_delay", "multiplier", "jitter", "retry_on",
                 "fatal"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"unknown retry setting(s) {unknown}; known: {sorted(known)}")
        kwargs = dict(raw)
        for key in ("retry_on", "fatal"):
            if key in kwargs:
                value = kwargs[key]
                kwargs[key] = (value,) if isinstance(value, str) else tuple(value)
        return cls(**kwargs)

    def cap(self, attempt: int) -> float:
        """The largest wait after failed attempt number ``attempt`` (1-based)."""
        if attempt < 1:
            raise ValueError(f"attempts are numbered from 1, not {attempt}")
        try:
            grown = self.base_delay * self.multiplier ** (attempt - 1)
        except OverflowError:
            return self.max_delay
        return min(self.max_delay, grown)

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """The wait after failed attempt ``attempt``, with this policy's jitter."""
        cap = self.cap(attempt)
        draw = (rng or _DEFAULT_RNG).random()
        if self.jitter == "full":
            return cap * draw
        if self.jitter == "equal":
            return cap / 2 + cap / 2 * draw
        return cap

    def retryable(self, error: BaseException | type[BaseException] | str) -> bool:
        """Whether this error may be retried at all (ignoring how many attempts are left)."""
        names = set(error_names(error))
        if names & self.fatal:
            return False
        return not self.retry_on or bool(names & self.retry_on)

    def decide(self, attempt: int, error: BaseException | type[BaseException] | str, *,
               rng: random.Random | None = None, retry_after: float | None = None,
               elapsed: float = 0.0, deadline: float | None = None) -> RetryDecision:
        """Decide what follows failed attempt number ``attempt``.

        Args:
            attempt: the attempt that just failed (1-based).
            error: the exception, its class, or its text (``"TypeName: message"``).
            rng: the random source for jitter (seed one for reproducible schedules).
            retry_after: a server's hint (``Retry-After``) in seconds; the wait is at least
                this long, even past ``max_delay``.
            elapsed: seconds since the first attempt started.
            deadline: the overall budget in seconds; a wait that would pass it gives up.

        """
        if attempt < 1:
            raise ValueError(f"attempts are numbered from 1, not {attempt}")
        if not self.retryable(error):
            return RetryDecision(False, 0.0, attempt, "fatal")
        if attempt >= self.max_attempts:
            return RetryDecision(False, 0.0, attempt, "exhausted")
        wait = self.delay(attempt, rng)
        if retry_after is not None and retry_after > wait:
            wait = float(retry_after)
        if deadline is not None and elapsed + wait >= deadline:
            return RetryDecision(False, 0.0, attempt, "deadline")
        return RetryDecision(True, wait, attempt + 1, "retry")


def _name(error: str | type[BaseException]) -> str:
    return error if isinstance(error, str) else error.__name__
