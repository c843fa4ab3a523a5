"""Resilience policies kept in the store, shared by every instance and every worker.

Why in the store: a breaker per process has to be tripped once per process, and a rate limit
per process multiplies with the number of workers.  Here one breaker per name (one per
downstream service) and one token bucket per effect name live in the ``policy_state`` rows,
updated by compare and set, so every worker on the database sees one state.  The decisions
themselves are the pure functions of :mod:`statekeeper.resilience`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from ..resilience import Breaker, BreakerState, Bucket, Bulkhead, RateLimit
from ..storage.base import IntegrityError, Store, StoreError
from ..storage.records import EffectRecord

__all__ = ["Admission", "SharedPolicies"]

T = TypeVar("T")
#: how long an effect waits when its bulkhead is full before it is tried again
BULKHEAD_WAIT = 0.1
#: when a half-open breaker's probes are all out, how long until another try
PROBE_WAIT = 1.0


@dataclass(frozen=True, slots=True)
class Admission:
    """Whether an attempt may start now.

    ``verdict`` is ``"run"``, ``"wait"`` (a bulkhead or rate limit: try again at ``until``,
    no attempt is counted) or ``"blocked"`` (the breaker is open until ``until``).
    """

    verdict: str
    until: float = 0.0
    reason: str = ""
    breaker: str | None = None


class SharedPolicies:
    """Admits effect attempts and records their outcomes against the store's shared state.

    Args:
        store: where breaker and bucket state live.
        breakers: breaker settings by name; a chart naming a breaker that is not configured
            gets ``Breaker(name)`` with its defaults.

    """

    def __init__(self, store: Store, breakers: Mapping[str, Breaker] | None = None) -> None:
        self.store = store
        self.breakers = dict(breakers or {})

    def breaker(self, name: str) -> Breaker:
        found = self.breakers.get(name)
        if found is None:
            found = self.breakers[name] = Breaker(name)
        return found

    def admit(self, effect: EffectRecord, policy: Mapping[str, Any], now: float) -> Admission:
        """Check the bulkhead, then the rate limit, then the breaker (which may take a probe)."""
        limit = policy.get("bulkhead")
        if limit is not None:
            others = self.store.count_running(effect.name, now) - 1  # this claim counts itself
            allowed, _ = Bulkhead(int(limit)).acquire(max(0, others))
            if not allowed:
                return Admission("wait", now + BULKHEAD_WAIT, f"bulkhead {effect.name!r} is full")
        rate = policy.get("rate")
        if rate is not None:
            wait = self._take_token(effect.name, RateLimit(rate), now)
            if wait > 0:
                return Admission("wait", now + wait, f"rate limit {effect.name!r}")
        name = policy.get("breaker")
        if name is not None:
            retry_at = self._allow(self.breaker(name), now)
            if retry_at is not None:
                return Admission("blocked", retry_at, f"circuit breaker {name!r} is open", name)
        return Admission("run")

    def record(self, name: str, ok: bool, now: float) -> BreakerState:
        """Record an attempt's outcome on breaker ``name``; return its new state."""
        breaker = self.breaker(name)

        def change(raw: dict[str, Any] | None) -> tuple[dict[str, Any], BreakerState]:
            state = breaker.record(_breaker_state(raw), ok, now)
            return state.to_dict(), state

        return self._update(f"breaker:{name}", change, now)

    def state(self, name: str) -> BreakerState:
        """The breaker's shared state as stored (closed when never written)."""
        row = self.store.policy_state(f"breaker:{name}")
        return _breaker_state(None if row is None else row.value)

    def _allow(self, breaker: Breaker, now: float) -> float | None:
        def change(raw: dict[str, Any] | None) -> tuple[dict[str, Any], float | None]:
            decision = breaker.allow(_breaker_state(raw), now)
            if decision.allowed:
                return decision.state.to_dict(), None
            return decision.state.to_dict(), decision.retry_at or now + PROBE_WAIT

        return self._update(f"breaker:{breaker.name}", change, now)

    def _take_token(self, name: str, limit: RateLimit, now: float) -> float:
        def change(raw: dict[str, Any] | None) -> tuple[dict[str, Any], float]:
            decision = limit.take(None if raw is None else Bucket.from_dict(raw), now)
            return decision.bucket.to_dict(), 0.0 if decision.allowed else decision.wait

        return self._update(f"rate:{name}", change, now)

    def _update(self, key: str, change: Callable[[dict[str, Any] | None], tuple[dict[str, Any], T]],
                now: float, tries: int = 100) -> T:
        """Read, decide, compare-and-set; on a lost race read again (another worker wrote)."""
        for _ in range(tries):
            row = self.store.policy_state(key)
            value, result = change(None if row is None else row.value)
            if row is not None and value == row.value:
                return result  # nothing changed: no write needed
            if self.store.put_policy_state(key, value, now=now,
                                           expected_version=None if row is None else row.version):
                return result
        raise StoreError(f"policy state {key!r}: {tries} writers in a row got there first")


def _breaker_state(raw: dict[str, Any] | None) -> BreakerState:
    if raw is None:
        return BreakerState()
    try:
        return BreakerState.from_dict(raw)
    except (KeyError, TypeError, ValueError) as exc:
        raise IntegrityError(f"corrupted breaker state {raw!r}: {exc}") from None
