"""In-memory effect retries: the retry policy a chart declares on an effect, on the machine's clock.

The durable runtime keeps a retry's backoff in the store; a machine in memory keeps it as a
timer on its clock (a :class:`~statekeeper.VirtualClock` in tests), so it dies with the machine.
Only ``retry`` applies here; ``timeout``, ``breaker``, ``bulkhead`` and ``rate`` need workers
and shared state, and apply in the durable runtime (or use :class:`ResilientMachine`).
The outcome events are the runtime's: ``error.effect.<name>`` carries ``attempts``, ``errors``
and ``reason`` once a retry policy gives up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..core.commands import RunEffect
from ..core.events import Event
from ..resilience import Retry

if TYPE_CHECKING:
    from ._base import BaseMachine

__all__ = ["RETRY_PREFIX", "Failure", "on_failure", "retry_later"]

#: prefix of the timer handles of pending retries (cancelled by ``close()``)
RETRY_PREFIX = "statekeeper.retry:"


class Failure:
    """What follows a failed attempt: an event now, or another attempt after ``delay``."""

    __slots__ = ("delay", "errors", "event")

    def __init__(self, event: Event | None, delay: float | None, errors: list[str]) -> None:
        self.event = event
        self.delay = delay
        self.errors = errors


def on_failure(machine: BaseMachine, effect: RunEffect, attempt: int, exc: Exception,
               errors: list[str]) -> Failure:
    """Decide after attempt ``attempt`` of ``effect`` failed with ``exc``."""
    text = f"{type(exc).__name__}: {exc}"
    errors = [*errors, text]
    raw = machine.chart.effect_policies.get(effect.name, {}).get("retry")
    name = f"error.effect.{effect.name}"
    if raw is None:  # no policy: one attempt, and the chart decides
        return Failure(Event(name, {"error": text, "key": effect.key}), None, errors)
    hint = getattr(exc, "retry_after", None)
    decision = Retry.from_dict(raw).decide(
        attempt, exc, retry_after=float(hint) if isinstance(hint, (int, float)) else None)
    if decision.retry:
        return Failure(None, decision.delay, errors)
    return Failure(Event(name, {"error": text, "key": effect.key, "attempts": attempt,
                                "errors": errors, "reason": decision.reason}), None, errors)


def retry_later(machine: BaseMachine, effect: RunEffect, delay: float,
                run: Callable[[], None]) -> None:
    """Call ``run`` after ``delay`` on the machine's clock, unless the machine is closed."""
    handle_id = f"{RETRY_PREFIX}{effect.key}"

    def fire() -> None:
        x = machine._x
        if x is not None and x.handles.pop(handle_id, None) is not None:
            run()

    clock = machine._clock()
    machine._extras().handles[handle_id] = clock.call_at(clock.now() + delay, fire)
