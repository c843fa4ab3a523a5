"""A send to another instance, as the worker delivers it from the outbox.

Split from ``worker`` to keep that module small: the delivery is an event committed on the
target, and the outcome is a bookkeeping event on the sender that closes the outbox row.
"""

from __future__ import annotations

from ..clock import Clock
from ..core.events import Event
from ..storage.base import StoreUnavailable, UnknownInstance
from ..storage.records import DeadLetterRecord, EffectFinish, EffectRecord
from .effects import outcome_key
from .engine import CommitConflict, Engine
from .requests import DeliverEvent, outcome_answer

__all__ = ["deliver_send"]


def deliver_send(engine: Engine, effect: EffectRecord, owner: str, clock: Clock,
                 heard: bool = True) -> DeliverEvent:
    """Deliver the send ``effect`` holds and wait for it; the sender's outcome event.

    ``heard`` as in :meth:`~.effects.EffectRunner.run`.

    Raises the store's error when the delivery may be retried (the row stays leased).
    """
    target, raw = effect.args["target"], effect.args["event"]
    delivered = engine.submit(
        DeliverEvent(target, Event.from_dict(raw), strict=False, idempotency_key=effect.key,
                     traceparent=effect.traceparent))
    # Close the outbox row only once the delivery is durable: closed in the same group
    # commit, a lost (re-planned) delivery would die with a crash.  A transient failure
    # leaves the row leased; it is sent again (a duplicate if it had landed).
    failure = delivered.exception()
    if isinstance(failure, (StoreUnavailable, CommitConflict)):
        raise failure
    if isinstance(failure, UnknownInstance):  # kept, to be replayed once it exists
        letter = DeadLetterRecord(
            kind="event",
            instance=target,
            key=effect.key,
            payload={"event": raw, "from": effect.instance, "traceparent": effect.traceparent},
            errors=[str(failure)],
            at=clock.now(),
        )
        return DeliverEvent(
            effect.instance,
            Event("statekeeper.undeliverable", {"target": target}, "platform"),
            strict=False,
            idempotency_key=outcome_key(effect),
            effect_finish=EffectFinish(effect.key, "dead", str(failure), owner=owner),
            dead_letters=[letter],
            traceparent=effect.traceparent,
            future=outcome_answer(effect.key, heard),
        )
    return DeliverEvent(
        effect.instance,
        Event("statekeeper.sent", None, "platform"),
        strict=False,
        effect_finish=EffectFinish(effect.key, "done", owner=owner),
        idempotency_key=outcome_key(effect),
        traceparent=effect.traceparent,
        future=outcome_answer(effect.key, heard),
    )
