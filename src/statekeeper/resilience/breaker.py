"""Circuit breaker: stop calling a downstream that keeps failing, then probe it carefully.

The breaker's state is data (:class:`BreakerState`, JSON-able), and :class:`Breaker` holds only
pure functions over ``(state, now)``.  That is what lets the durable runtime keep one breaker
per downstream service in the store, shared by every instance and every worker process, instead
of one per process that each has to learn the hard way.

States: *closed* (calls flow; outcomes are counted in a window), *open* (calls are refused until
``open_for`` has passed), *half-open* (up to ``probes`` calls are let through; if they all
succeed the breaker closes, any failure opens it again).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from ..core.durations import Duration, parse_duration

__all__ = ["Breaker", "BreakerDecision", "BreakerState"]

Status = Literal["closed", "open", "half_open"]


@dataclass(frozen=True, slots=True)
class BreakerState:
    """One breaker's state.  ``outcomes`` are ``(time, ok)`` pairs inside the window."""

    status: Status = "closed"
    outcomes: tuple[tuple[float, bool], ...] = ()
    opened_at: float | None = None
    probes_in_flight: int = 0
    probe_successes: int = 0
    probe_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "outcomes": [list(o) for o in self.outcomes],
                "opened_at": self.opened_at, "probes_in_flight": self.probes_in_flight,
                "probe_successes": self.probe_successes, "probe_at": self.probe_at}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> BreakerState:
        status = raw.get("status")
        if status not in ("closed", "open", "half_open"):
            raise ValueError(f"not a breaker state: status {status!r}")
        return cls(status=status, outcomes=tuple((float(t), bool(ok)) for t, ok in raw["outcomes"]),
                   opened_at=raw.get("opened_at"),
                   probes_in_flight=int(raw.get("probes_in_flight", 0)),
                   probe_successes=int(raw.get("probe_successes", 0)),
                   probe_at=raw.get("probe_at"))


@dataclass(frozen=True, slots=True)
class BreakerDecision:
    """Whether a call may go ahead; if not, when the breaker will next let one through."""

    allowed: bool
    state: BreakerState
    retry_at: float | None = None


@dataclass(frozen=True, slots=True, init=False)
class Breaker:
    """A circuit breaker policy.

    Args:
        name: the key its state is shared under (one per downstream service, say).
        failure_rate: open when failures / calls in the window reach this (0 < rate <= 1).
        min_calls: ...and the window holds at least this many calls.
        window: the window: an ``int`` is the last N calls; a duration (``"60s"``) is every call
            in that much time.
        open_for: how long an open breaker refuses calls before probing.
        probes: calls let through while half-open; all must succeed to close it.

    """

    name: str
    failure_rate: float
    min_calls: int
    window_calls: int | None
    window_seconds: float | None
    open_for: float
    probes: int

    def __init__(self, name: str, *, failure_rate: float = 0.5, min_calls: int = 5,
                 window: int | Duration = 20, open_for: Duration = 30.0, probes: int = 1) -> None:
        if not name:
            raise ValueError("a breaker needs a name: its state is shared under it")
        if not 0.0 < failure_rate <= 1.0:
            raise ValueError(f"failure_rate must be in (0, 1], not {failure_rate!r}")
        if min_calls < 1 or probes < 1:
            raise ValueError("min_calls and probes must be at least 1")
        set_ = object.__setattr__
        if isinstance(window, int) and not isinstance(window, bool):
            if window < 1:
                raise ValueError(f"a count window needs at least 1 call, not {window}")
            set_(self, "window_calls", window)
            set_(self, "window_seconds", None)
        else:
            set_(self, "window_calls", None)
            set_(self, "window_seconds", parse_duration(window))
        set_(self, "name", name)
        set_(self, "failure_rate", float(failure_rate))
        set_(self, "min_calls", min_calls)
        set_(self, "open_for", parse_duration(open_for))
        set_(self, "probes", probes)

    def allow(self, state: BreakerState, now: float) -> BreakerDecision:
        """May a call start now?  Counts the call as a probe when half-open."""
        if state.status == "open":
            assert state.opened_at is not None
            reopen = state.opened_at + self.open_for
            if now < reopen:
                return BreakerDecision(False, state, reopen)
            state = BreakerState("half_open", (), state.opened_at)
        if state.status == "half_open":
            if state.probes_in_flight and state.probe_at is not None \
                    and now - state.probe_at >= self.open_for:
                # A probe that never reported in a whole open period was lost (its worker
                # died): stop waiting for it, or the breaker would stay half-open for ever.
                state = replace(state, probes_in_flight=0)
            if state.probes_in_flight + state.probe_successes >= self.probes:
                retry_at = None if state.probe_at is None else state.probe_at + self.open_for
                return BreakerDecision(False, state, retry_at)
            return BreakerDecision(True, replace(state, probes_in_flight=state.probes_in_flight + 1,
                                                 probe_at=now))
        return BreakerDecision(True, state)

    def record(self, state: BreakerState, ok: bool, now: float) -> BreakerState:
        """Record a finished call's outcome and return the new state."""
        if state.status == "half_open":
            in_flight = max(0, state.probes_in_flight - 1)
            if not ok:
                return BreakerState("open", (), now)
            successes = state.probe_successes + 1
            if successes >= self.probes:
                return BreakerState("closed")
            return replace(state, probes_in_flight=in_flight, probe_successes=successes)
        if state.status == "open":
            return state  # a call that started before the breaker opened: already counted
        outcomes = self._window((*state.outcomes, (now, ok)), now)
        failures = sum(1 for _, good in outcomes if not good)
        if len(outcomes) >= self.min_calls and failures / len(outcomes) >= self.failure_rate:
            return BreakerState("open", (), now)
        return BreakerState("closed", outcomes)

    def _window(self, outcomes: tuple[tuple[float, bool], ...],
                now: float) -> tuple[tuple[float, bool], ...]:
        if self.window_calls is not None:
            return outcomes[-self.window_calls:]
        assert self.window_seconds is not None
        horizon = now - self.window_seconds
        return tuple(o for o in outcomes if o[0] > horizon)
