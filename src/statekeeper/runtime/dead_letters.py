"""Operating on dead letters: list, show, replay, discard; every action is logged.

An effect that exhausted its retry policy, or an event sent to an instance that does not exist,
is kept as a dead letter with its error history.  Replaying an effect reopens its outbox row
(same idempotency key, attempts from zero, the whole policy again) and discarding drops it; each
writes a row in the instance's transition log in the same commit that changes the letter, so
the log shows who did what and when.  A replayed event is delivered with its original
idempotency key, so replaying it twice delivers it once.

Why a replay carries a trace context: the work it redoes was part of a trace (the step that
wrote the effect's outbox row, or the send that could not be delivered), so the replay's step
and what follows it continue that trace, the ``traceparent`` the outbox row kept (an event
letter keeps it in its payload), and a trace shows the failure and its replay together.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future

from ..core.events import Event
from ..storage.base import UnknownInstance
from ..storage.records import DeadLetterRecord, EffectReopen
from .authz import Principal
from .engine import Engine, UnknownDeadLetter
from .requests import Administer, DeliverEvent
from .state import InstanceState
from .tracing import parse_traceparent

__all__ = ["DISCARDED", "REPLAYED", "discard", "find", "replay"]

_log = logging.getLogger("statekeeper.runtime")
#: the log events of the two actions
REPLAYED = "statekeeper.dead_letter.replayed"
DISCARDED = "statekeeper.dead_letter.discarded"


def find(engine: Engine, letter_id: int) -> DeadLetterRecord:
    """The dead letter with that id; raise :class:`UnknownDeadLetter`."""
    letter = engine.store.dead_letter(letter_id)
    if letter is None:
        raise UnknownDeadLetter(letter_id)
    return letter


def replay(engine: Engine, letter_id: int, actor: str | None,
           principal: Principal | None = None) -> Future[InstanceState]:
    """Run the dead effect again (or deliver the dead event) under its original key.

    A dead event is a caller's delivery now: authorized for ``principal`` when its chart
    has a policy (:mod:`.authz`).
    """
    letter = find(engine, letter_id)
    if letter.kind == "row":  # a malformed row set aside: back into its table, as it was
        if not engine.store.restore_row(letter_id):
            raise UnknownDeadLetter(letter_id)
        _log.warning("dead letter %d replayed: its %s row is back in place (by %s)", letter_id,
                     letter.payload.get("table", "?"), actor or "an unnamed actor")
        restored: Future[InstanceState] = Future()
        restored.set_result(InstanceState.from_record(engine.store.load(letter.instance)))
        return restored
    if letter.kind == "event":
        delivered = engine.submit(DeliverEvent(
            letter.instance, Event.from_dict(letter.payload["event"]), strict=False,
            idempotency_key=letter.key, actor=actor, principal=principal, authorize=True,
            traceparent=_traceparent(letter.payload.get("traceparent"))))
        answered: Future[InstanceState] = Future()
        delivered.add_done_callback(lambda f: _drop_after_delivery(engine, letter, f, answered))
        return answered
    name = letter.payload.get("name", "?")
    return engine.submit(Administer(
        letter.instance, Event(REPLAYED, {"letter": letter_id, "key": letter.key,
                                          "effect": name}, "platform"),
        letter_id, f"dead letter {letter_id} replayed: effect {name!r} runs again "
        f"with key {letter.key!r}", reopen=[EffectReopen(letter.key, engine.clock.now())],
        actor=actor, traceparent=_row_traceparent(engine, letter)))


def _traceparent(value: object) -> str | None:
    """A stored trace context as a ``traceparent``; ``None`` when it is none, or malformed.

    A letter's payload is data an operator may have edited: a bad value starts no trace
    rather than failing the replay.
    """
    return value if isinstance(value, str) and parse_traceparent(value) else None


def _row_traceparent(engine: Engine, letter: DeadLetterRecord) -> str | None:
    """The ``traceparent`` the dead effect's outbox row keeps (``None``: none, or no row)."""
    for effect in engine.store.effects(letter.instance):
        if effect.key == letter.key:
            return _traceparent(effect.traceparent)
    return None


def discard(engine: Engine, letter_id: int, actor: str | None) -> Future[InstanceState] | None:
    """Drop a dead letter for good; ``None`` when its instance does not exist to log it."""
    letter = find(engine, letter_id)
    if letter.kind == "row":
        what = f"a malformed {letter.payload.get('table', '?')} row"
    elif letter.kind == "effect":
        what = f"effect {letter.payload.get('name', '?')!r}"
    else:
        what = f"event {letter.payload.get('event', {}).get('name', '?')!r}"
    try:
        engine.store.load(letter.instance)
    except UnknownInstance:
        if not engine.store.delete_dead_letter(letter_id):
            raise UnknownDeadLetter(letter_id) from None
        _log.warning("dead letter %d (%s for missing instance %r) discarded by %s", letter_id,
                     what, letter.instance, actor or "an unnamed actor")
        return None
    return engine.submit(Administer(
        letter.instance, Event(DISCARDED, {"letter": letter_id, "key": letter.key},
                               "platform"),
        letter_id, f"dead letter {letter_id} discarded: {what} with key {letter.key!r}",
        actor=actor))


def _drop_after_delivery(engine: Engine, letter: DeadLetterRecord,
                         delivered: Future[InstanceState],
                         answered: Future[InstanceState]) -> None:
    """Delete the letter once its event is committed, then answer the caller."""
    error = delivered.exception()
    if error is not None:
        answered.set_exception(error)  # the letter stays: the target still cannot take it
        return
    try:
        if letter.id is not None:
            engine.store.delete_dead_letter(letter.id)
            _log.info("dead letter %d replayed: event delivered to %r", letter.id,
                      letter.instance)
    except BaseException as exc:  # noqa: BLE001 - the caller hears of it
        answered.set_exception(exc)
        return
    answered.set_result(delivered.result())
