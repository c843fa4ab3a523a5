"""Running one claimed effect under its chart-declared policy, and turning the result into an event.

Why it is shaped like this: every decision is taken against durable state.  A failed attempt
that may be retried is *released* back to the outbox with ``available_at`` set to the backoff
(the backoff is a row in the store, so a crash during it resumes the schedule); a full bulkhead
or an exhausted rate limit releases the row without counting an attempt; an open breaker tells
the chart once with ``blocked.effect.<name>``; exhaustion answers ``error.effect.<name>`` and
keeps a dead letter with the error history, both in the commit that closes the row.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import inspect
import logging
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..clock import Clock
from ..core.events import Event
from ..resilience import Retry
from ..resilience.errors import Attempt
from ..storage import why_not_json
from ..storage.base import Store
from ..storage.records import (
    DeadLetterRecord,
    EffectFinish,
    EffectRecord,
    EffectRelease,
    EffectStatus,
)
from .logs import log_effect
from .metrics import Metrics
from .policies import SharedPolicies
from .requests import DeliverEvent, outcome_answer
from .tracing import Tracing

__all__ = ["Abandoned", "AttemptHook", "EffectRunner", "outcome_key"]

_log = logging.getLogger("statekeeper.runtime")
#: how a wait for an open breaker is recorded in an outbox row's errors (not an attempt)
_BLOCKED = "statekeeper.blocked: "
AttemptHook = Callable[[Attempt], None]
#: what an effect usually returns, never awaitable: no ``inspect.isawaitable`` (an ABC check)
_PLAIN = frozenset({dict, list, str, int, float, bool, type(None)})


def outcome_key(effect: EffectRecord) -> str:
    """The idempotency key of an effect's outcome event.

    Two workers answering the same claim (one was only slow) share it, so the second is a
    duplicate.  The count of errors recorded so far tells apart the outcomes of a row that
    failed and was replayed from its dead letter (the history is kept, so the count only grows).
    """
    if not effect.errors:
        return f"statekeeper.effect:{effect.key}"
    return f"statekeeper.effect:{effect.key}#{len(effect.errors)}"


class Abandoned(Exception):
    """The worker closed while the call ran: its outcome is dropped, nothing is written."""


class EffectRunner:
    """Calls effect functions for a worker: policies, timeouts, hooks and outcome events."""

    def __init__(self, store: Store, clock: Clock, owner: str, policies: SharedPolicies, *,
                 hooks: Sequence[AttemptHook] = (), rng: random.Random | None = None,
                 event_loop: Callable[[], asyncio.AbstractEventLoop]) -> None:
        self.store = store
        self.clock = clock
        self.owner = owner
        self.policies = policies
        self.hooks = list(hooks)
        #: the level of the records of effect attempts (``statekeeper.effects``)
        self.log_level = logging.DEBUG
        #: Prometheus metrics of finished attempts (``None``: off)
        self.metrics: Metrics | None = None
        #: OpenTelemetry spans of finished attempts (``None``: off)
        self.tracing: Tracing | None = None
        self.rng = rng or random.Random()  # jitter spreads retries; it need not be secret
        self._event_loop = event_loop
        #: set when the worker closes: a call that returns afterwards writes nothing
        self.closed = threading.Event()

    def run(self, effect: EffectRecord, fn: Callable[..., Any] | None,
            policy: Mapping[str, Any], wake: Callable[[float], None],
            chart: str = "", *, heard: bool = True) -> DeliverEvent | None:
        """Attempt ``effect`` once; return the outcome event, or ``None`` when it was released.

        ``wake(at)`` is told when a released row becomes runnable again; ``chart`` (its
        instance's) labels the attempt's metrics.  The event's answer is a ``Future``, or with
        ``heard=False`` an :class:`~.requests.Unheard` (the effect threads: nobody waits).
        """
        failures = sum(1 for e in effect.errors if not e.startswith(_BLOCKED))
        if effect.at_most_once and effect.attempts - 1 > failures:
            # claimed again although no failure was recorded: the last run was interrupted
            return self._failed(effect, "interrupted: an at-most-once effect is not run a "
                                "second time", policy, heard=heard)
        if fn is None:
            return self._failed(effect, f"no effect {effect.name!r} is registered", policy,
                                heard=heard)
        now = self.clock.now()
        admission = self.policies.admit(effect, policy, now)
        if admission.verdict == "wait":
            self.store.release_effect(effect.key, self.owner, available_at=admission.until,
                                      error=None, refund=True)
            wake(admission.until)
            return None
        if admission.verdict == "blocked":
            return self._blocked(effect, admission.until, admission.reason, wake, heard)
        self._report(effect, "started", now)
        breaker = policy.get("breaker")
        try:
            value = self._call(fn, effect, policy.get("timeout"))
        except Exception as exc:  # noqa: BLE001 - the policy and the chart decide what it means
            if self.closed.is_set():
                raise Abandoned(effect.key) from None
            return self._attempt_failed(effect, exc, policy, breaker, wake, now, chart, heard)
        if self.closed.is_set():
            raise Abandoned(effect.key)
        done_at = self.clock.now()
        if breaker is not None:
            self.policies.record(breaker, True, done_at)
        unstorable = why_not_json(value)
        if unstorable is not None:
            # The call worked, but its result cannot reach the chart: running it again would
            # return the same kind of value, so this is the effect's failure, not a retry.
            text = (f"TypeError: effect {effect.name!r} returned a value that cannot be stored "
                    f"as JSON: {unstorable}")
            self._report(effect, "finished", done_at, outcome="error", error=text, began=now,
                         chart=chart)
            return self._failed(effect, text, policy, reason="its result is not JSON",
                                heard=heard)
        self._report(effect, "finished", done_at, outcome="ok", began=now, chart=chart)
        return DeliverEvent(effect.instance, Event(f"done.effect.{effect.name}", value),
                            strict=False,
                            effect_finish=EffectFinish(effect.key, "done", owner=self.owner),
                            idempotency_key=outcome_key(effect), traceparent=effect.traceparent,
                            future=outcome_answer(effect.key, heard))

    # -- outcomes --------------------------------------------------------------------------------

    def _attempt_failed(self, effect: EffectRecord, exc: Exception, policy: Mapping[str, Any],
                        breaker: str | None, wake: Callable[[float], None],
                        began: float, chart: str, heard: bool) -> DeliverEvent | None:
        text = f"{type(exc).__name__}: {exc}"
        timed_out = isinstance(exc, TimeoutError)
        now = self.clock.now()
        if breaker is not None:
            self.policies.record(breaker, False, now)
        raw = policy.get("retry")
        if raw is None:  # no policy: one attempt, and the chart decides
            self._report(effect, "finished", now, outcome="timeout" if timed_out else "error",
                         error=text, began=began, chart=chart)
            return self._failed(effect, text, policy, heard=heard)
        retry = Retry.from_dict(raw)
        hint = getattr(exc, "retry_after", None)
        decision = retry.decide(effect.attempts, exc, rng=self.rng,
                                retry_after=float(hint) if isinstance(hint, (int, float)) else None,
                                elapsed=now - effect.created_at, deadline=policy.get("deadline"))
        self._report(effect, "finished", now, outcome="timeout" if timed_out else "error",
                     error=text, delay=decision.delay, began=began, chart=chart)
        if decision.retry:
            at = now + decision.delay
            if self.store.release_effect(effect.key, self.owner, available_at=at, error=text):
                wake(at)
            return None
        return self._failed(effect, text, policy, reason=decision.reason, heard=heard)

    def _failed(self, effect: EffectRecord, error: str, policy: Mapping[str, Any], *,
                reason: str | None = None, heard: bool = True) -> DeliverEvent:
        """``error.effect.<name>``; with a retry policy the row is dead and a letter is kept."""
        errors = [*effect.errors, error]
        data = {"error": error, "key": effect.key, "attempts": effect.attempts,
                "errors": errors, "reason": reason or "failed"}
        letters = []
        status: EffectStatus = "failed"
        if "retry" in policy:
            status = "dead"
            letters.append(DeadLetterRecord(
                "effect", effect.instance, effect.key,
                {"name": effect.name, "args": effect.args, "attempts": effect.attempts,
                 "reason": reason or "failed"}, errors, self.clock.now()))
        return DeliverEvent(effect.instance, Event(f"error.effect.{effect.name}", data),
                            strict=False, effect_finish=EffectFinish(effect.key, status, error,
                                                                       owner=self.owner),
                            idempotency_key=outcome_key(effect), dead_letters=letters,
                            traceparent=effect.traceparent,
                            future=outcome_answer(effect.key, heard))

    def _blocked(self, effect: EffectRecord, until: float, reason: str,
                 wake: Callable[[float], None], heard: bool) -> DeliverEvent | None:
        """Tell the chart once per blocked streak; then wait quietly for the breaker."""
        text = f"{_BLOCKED}{reason}"
        if (effect.last_error or "").startswith(_BLOCKED):
            self.store.release_effect(effect.key, self.owner, available_at=until, error=None,
                                      refund=True)
            wake(until)
            return None
        wake(until)
        data = {"reason": reason, "retry_at": until, "key": effect.key,
                "attempts": effect.attempts - 1}
        return DeliverEvent(
            effect.instance, Event(f"blocked.effect.{effect.name}", data), strict=False,
            # taken by the chart: the chart has decided (give up, or wait and try again)
            effect_finish=EffectFinish(effect.key, "failed", text, owner=self.owner),
            # not taken: the effect waits for the breaker and runs when it lets calls through
            effect_release=EffectRelease(effect.key, until, text, refund=True,
                                         owner=self.owner),
            idempotency_key=f"statekeeper.blocked:{effect.key}@{self.clock.now()!r}",
            traceparent=effect.traceparent, future=outcome_answer(effect.key, heard))

    # -- calling -----------------------------------------------------------------------------------

    def _call(self, fn: Callable[..., Any], effect: EffectRecord, timeout: float | None) -> Any:
        """Call ``fn``; with a timeout, give up when the *clock* says so.

        A coroutine effect is cancelled; a plain function cannot be interrupted, so its attempt
        is abandoned (it finishes in the background and its result is dropped).  Waiting goes
        through the clock, so a :class:`~statekeeper.VirtualClock` drives timeouts in tests.
        """
        kwargs: dict[str, Any] = {"key": effect.key}
        if _takes_attempt(fn):
            kwargs["attempt"] = effect.attempts
        if timeout is None:
            value = fn(effect.args, **kwargs)
            if value.__class__ not in _PLAIN and inspect.isawaitable(value):
                return asyncio.run_coroutine_threadsafe(_await(value), self._event_loop()).result()
            return value
        outcome: concurrent.futures.Future[Any]
        if inspect.iscoroutinefunction(fn):
            outcome = asyncio.run_coroutine_threadsafe(_await(fn(effect.args, **kwargs)),
                                                       self._event_loop())
            cancel = outcome.cancel

            def expire() -> None:
                cancel()
        else:
            outcome = concurrent.futures.Future()
            threading.Thread(target=_run_into, args=(outcome, fn, effect.args, kwargs), daemon=True,
                             name=f"statekeeper-effect-{effect.name}").start()

            def expire() -> None:
                if not outcome.done():
                    outcome.set_exception(TimeoutError())

        handle = self.clock.call_at(self.clock.now() + timeout, expire)
        try:
            return outcome.result()
        except (concurrent.futures.CancelledError, TimeoutError):
            if outcome.cancelled() or isinstance(outcome.exception(), TimeoutError):
                raise TimeoutError(f"attempt timed out after {timeout:g}s") from None
            raise
        finally:
            handle.cancel()

    def _report(self, effect: EffectRecord, phase: str, at: float, *, outcome: str | None = None,
                error: str | None = None, delay: float = 0.0, began: float | None = None,
                chart: str = "") -> None:
        if outcome is not None:  # a finished attempt: its record, when the logger takes it
            duration = None if began is None else at - began
            if (metrics := self.metrics) is not None:  # first, as the engine does
                metrics.effect(chart, effect.name, outcome, duration)
            if (tracing := self.tracing) is not None:
                tracing.effect(effect, chart, outcome, error, began, at, delay)
            log_effect(self.log_level, instance=effect.instance, effect=effect.name,
                       key=effect.key, attempt=effect.attempts, outcome=outcome, error=error,
                       duration=duration, retry_in=delay, at=at, trace_id=effect.traceparent)
        if not self.hooks:
            return
        attempt = Attempt(effect.name, effect.attempts, phase, at, outcome, error, delay,
                          effect.key, effect.instance)
        for hook in self.hooks:
            try:
                hook(attempt)
            except Exception:  # noqa: BLE001 - an observer must not change the outcome
                _log.exception("attempt hook failed")


def _takes_attempt(fn: Callable[..., Any]) -> bool:
    """Whether an effect function asks for the attempt number (an ``attempt`` parameter).

    Cached per function: reading a signature costs more than many an effect call.
    """
    try:
        return _signature_has_attempt(fn)
    except TypeError:  # an unhashable callable: read its signature every time
        return _signature_has_attempt.__wrapped__(fn)


@functools.lru_cache(maxsize=1024)
def _signature_has_attempt(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # a builtin without a signature
        return False
    return "attempt" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _run_into(outcome: concurrent.futures.Future[Any], fn: Callable[..., Any], args: Any,
              kwargs: dict[str, Any]) -> None:
    try:
        value = fn(args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - handed to the waiting worker
        with contextlib.suppress(concurrent.futures.InvalidStateError):  # timed out first
            outcome.set_exception(exc)
        return
    with contextlib.suppress(concurrent.futures.InvalidStateError):
        outcome.set_result(value)


async def _await(value: Any) -> Any:
    return await value
