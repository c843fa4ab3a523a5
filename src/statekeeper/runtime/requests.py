"""Work submitted to the engine: start an instance, or deliver one event to one."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from ..core.events import Event
from ..storage.records import EffectFinish
from .state import InstanceState

__all__ = ["DeliverEvent", "Request", "StartInstance"]


@dataclass(slots=True)
class StartInstance:
    """Create an instance of the newest registered version of ``chart``."""

    chart: str
    instance_id: str
    data: dict[str, Any] | None = None
    labels: dict[str, str] = field(default_factory=dict)
    future: Future[InstanceState] = field(default_factory=Future)

    @property
    def instance(self) -> str:
        return self.instance_id


@dataclass(slots=True)
class DeliverEvent:
    """Deliver ``event`` to ``instance``.

    ``strict`` events come from callers: a rejection is recorded and raised.  Events from
    timers, effects and other instances are lenient (SCXML discards unmatched events), and
    carry the timer or outbox row they close in the same commit, and an idempotency key
    unique to that firing or outcome, so a redelivery after a crash is a duplicate.
    """

    instance: str
    event: Event
    strict: bool = True
    idempotency_key: str | None = None
    actor: str | None = None
    trace_id: str | None = None
    timer_id: str | None = None
    lateness: float | None = None
    effect_finish: EffectFinish | None = None
    future: Future[InstanceState] = field(default_factory=Future)
    #: the due time of the timer row this delivery fires (a re-armed timer keeps its id)
    timer_due: float | None = None
    #: commits of this request that lost an optimistic check so far (the engine caps them)
    conflicts: int = 0


Request = StartInstance | DeliverEvent
