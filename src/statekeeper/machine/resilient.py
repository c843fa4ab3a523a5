"""resile's shape: a state, its data and one transition function, retried under a policy.

For users who want only this, with no chart: ``ResilientMachine(initial, data, fn)`` where
``fn(state, data, event, attempt) -> (state, data)`` does the work of a transition (a network
call, say).  ``handle(event)`` calls it under retry, per-attempt timeout and circuit breaker;
the new state and data are kept only when an attempt succeeds.  When the policy gives up, the
machine is exactly where it was and the exception says why.

Waiting between attempts goes through the machine's clock: a :class:`~statekeeper.VirtualClock`
advances instantly (tests never sleep), the system clock sleeps.
"""

from __future__ import annotations

import asyncio
import copy
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from ..clock import Clock, SystemClock, VirtualClock
from ..resilience import Breaker, BreakerState, Retry, Timeout
from ..resilience.errors import Attempt, BreakerOpen, RetriesExhausted

__all__ = ["AsyncResilientMachine", "AttemptHook", "ResilientMachine"]

D = TypeVar("D")
AttemptHook = Callable[[Attempt], None]


class _Policy(Generic[D]):
    """What the twins share: current state, policies, breaker state, hooks."""

    def __init__(self, initial: str, data: D, *, retry: Retry | None, timeout: Timeout | None,
                 breaker: Breaker | None, clock: Clock | None, rng: random.Random | None,
                 hooks: list[AttemptHook] | None) -> None:
        if not initial:
            raise ValueError("a resilient machine needs an initial state")
        self.state = initial
        self.data = data
        self.retry = retry or Retry()
        self.timeout = timeout or Timeout()
        self.breaker = breaker
        self.breaker_state = BreakerState()
        self.clock: Clock = clock or SystemClock()
        self.rng = rng or random.Random()  # jitter need not be unpredictable
        self.hooks = list(hooks or [])

    def _report(self, attempt: Attempt) -> None:
        for hook in self.hooks:
            hook(attempt)

    def _admit(self, work: str) -> None:
        if self.breaker is None:
            return
        decision = self.breaker.allow(self.breaker_state, self.clock.now())
        self.breaker_state = decision.state
        if not decision.allowed:
            raise BreakerOpen(self.breaker.name, decision.retry_at)

    def _record(self, ok: bool) -> None:
        if self.breaker is not None:
            self.breaker_state = self.breaker.record(self.breaker_state, ok, self.clock.now())

    def _failed(self, work: str, attempt: int, error: BaseException, outcome: str,
                started: float, errors: list[str]) -> float:
        """Record a failed attempt; return the wait before the next one, or raise."""
        self._record(False)
        text = f"{type(error).__name__}: {error}"
        errors.append(text)
        now = self.clock.now()
        decision = self.retry.decide(attempt, error, rng=self.rng, elapsed=now - started,
                                     deadline=self.timeout.deadline)
        self._report(Attempt(work, attempt, "finished", now, outcome, text,
                             decision.delay if decision.retry else 0.0))
        if not decision.retry:
            raise RetriesExhausted(work, attempt, decision.reason, errors) from error
        return decision.delay


class ResilientMachine(_Policy[D]):
    """A state and data moved by one transition function, retried under a policy.

    Args:
        initial: the starting state.
        data: the starting data (each attempt gets its own deep copy, so a failed attempt that
            mutated it changes nothing).
        transition: ``fn(state, data, event, attempt) -> (state, data)``; raise to fail.
        retry, timeout, breaker: the policies (default: 3 attempts with full jitter; no
            timeout; no breaker).  A per-attempt timeout cannot interrupt a synchronous
            function: an attempt that overran counts as failed.  Use
            :class:`AsyncResilientMachine` to cancel attempts.
        clock: waits go through it (a VirtualClock advances instead of sleeping).
        rng: the jitter's random source (seed it for reproducible schedules).
        hooks: called with an :class:`~statekeeper.resilience.errors.Attempt` as each attempt
            starts and finishes.

    """

    def __init__(self, initial: str, data: D,
                 transition: Callable[[str, D, Any, int], tuple[str, D]], *,
                 retry: Retry | None = None, timeout: Timeout | None = None,
                 breaker: Breaker | None = None, clock: Clock | None = None,
                 rng: random.Random | None = None, hooks: list[AttemptHook] | None = None) -> None:
        super().__init__(initial, data, retry=retry, timeout=timeout, breaker=breaker,
                         clock=clock, rng=rng, hooks=hooks)
        self.transition = transition

    def handle(self, event: Any) -> tuple[str, D]:
        """Run the transition for ``event`` until it succeeds or the policy gives up.

        Returns the new ``(state, data)``.

        Raises:
            RetriesExhausted: every allowed attempt failed (state and data unchanged).
            BreakerOpen: the breaker refused the call (state and data unchanged).

        """
        work = str(event)
        started = self.clock.now()
        errors: list[str] = []
        attempt = 1
        while True:
            self._admit(work)
            begun = self.clock.now()
            self._report(Attempt(work, attempt, "started", begun))
            try:
                state, data = self.transition(self.state, copy.deepcopy(self.data), event, attempt)
                budget = self.timeout.budget(started, begun)
                if budget is not None and self.clock.now() - begun > budget:
                    raise TimeoutError(f"attempt {attempt} overran its {budget:.3f}s budget")
            except Exception as exc:  # noqa: BLE001 - the policy decides which errors retry
                outcome = "timeout" if isinstance(exc, TimeoutError) else "error"
                delay = self._failed(work, attempt, exc, outcome, started, errors)
                self._wait(delay)
                attempt += 1
                continue
            self._record(True)
            self._report(Attempt(work, attempt, "finished", self.clock.now(), "ok"))
            self.state, self.data = state, data
            return state, data

    def _wait(self, delay: float) -> None:
        if isinstance(self.clock, VirtualClock):
            self.clock.advance(delay)
        elif delay > 0:
            time.sleep(delay)


class AsyncResilientMachine(_Policy[D]):
    """The asyncio twin of :class:`ResilientMachine`; a per-attempt timeout cancels the attempt."""

    def __init__(self, initial: str, data: D,
                 transition: Callable[[str, D, Any, int], Awaitable[tuple[str, D]]], *,
                 retry: Retry | None = None, timeout: Timeout | None = None,
                 breaker: Breaker | None = None, clock: Clock | None = None,
                 rng: random.Random | None = None, hooks: list[AttemptHook] | None = None) -> None:
        super().__init__(initial, data, retry=retry, timeout=timeout, breaker=breaker,
                         clock=clock, rng=rng, hooks=hooks)
        self.transition = transition

    async def handle(self, event: Any) -> tuple[str, D]:
        """See :meth:`ResilientMachine.handle`."""
        work = str(event)
        started = self.clock.now()
        errors: list[str] = []
        attempt = 1
        while True:
            self._admit(work)
            begun = self.clock.now()
            self._report(Attempt(work, attempt, "started", begun))
            budget = self.timeout.budget(started, begun)
            try:
                call = self.transition(self.state, copy.deepcopy(self.data), event, attempt)
                state, data = await self._bounded(call, begun, budget, attempt)
            except Exception as exc:  # noqa: BLE001 - the policy decides which errors retry
                outcome = "timeout" if isinstance(exc, TimeoutError) else "error"
                delay = self._failed(work, attempt, exc, outcome, started, errors)
                await self._wait(delay)
                attempt += 1
                continue
            self._record(True)
            self._report(Attempt(work, attempt, "finished", self.clock.now(), "ok"))
            self.state, self.data = state, data
            return state, data

    async def _bounded(self, call: Awaitable[tuple[str, D]], begun: float, budget: float | None,
                       attempt: int) -> tuple[str, D]:
        """Await one attempt; cancel it when the clock passes its budget."""
        task = asyncio.ensure_future(call)
        if budget is None:
            return await task
        loop = asyncio.get_running_loop()
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            task.cancel()

        def from_clock() -> None:  # the system clock calls back from its own thread
            loop.call_soon_threadsafe(expire)

        handle = self.clock.call_at(begun + budget, from_clock)
        try:
            return await task
        except asyncio.CancelledError:
            if not expired:
                raise
            raise TimeoutError(
                f"attempt {attempt} was cancelled after its {budget:.3f}s budget") from None
        finally:
            handle.cancel()

    async def _wait(self, delay: float) -> None:
        if isinstance(self.clock, VirtualClock):
            self.clock.advance(delay)
        elif delay > 0:
            await asyncio.sleep(delay)
