"""Work submitted to the engine: start an instance, or deliver one event to one."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..core.events import Event
from ..storage.records import (
    DeadLetterRecord,
    EffectFinish,
    EffectRelease,
    EffectReopen,
    TimerRecord,
)
from .authz import Principal
from .errors import EngineClosed
from .state import InstanceState

__all__ = ["Administer", "Answer", "DeliverEvent", "Request", "StartInstance", "Unheard",
           "outcome_answer", "timer_delivery", "timer_key"]

_log = logging.getLogger("statekeeper.runtime")


class Answer(Protocol):
    """Where the engine puts a request's outcome, once, after its commit is durable.

    A :class:`concurrent.futures.Future` is one (the default).  An asyncio caller passes a
    cheaper one that hands the outcome straight to its event loop (see
    :mod:`statekeeper.client._waker`): no lock, condition or callback list per request.
    """

    def done(self) -> bool: ...

    def set_result(self, result: InstanceState, /) -> None: ...

    def set_exception(self, exception: BaseException | None, /) -> None: ...


class Unheard:
    """The answer of an effect's outcome event that nobody awaits (an :class:`Answer`).

    Set once by the engine's thread after the commit (or its failure); a failure is logged,
    since the effect will run again when its lease ends and the log should say why.  See
    :mod:`~statekeeper.runtime.effect_settle` for why not a ``Future``.
    """

    __slots__ = ("_done", "key")

    def __init__(self, key: str) -> None:
        self.key = key
        self._done = False

    def done(self) -> bool:
        return self._done

    def set_result(self, result: InstanceState, /) -> None:
        self._done = True

    def set_exception(self, exception: BaseException | None, /) -> None:
        self._done = True
        if exception is not None and not isinstance(exception, EngineClosed):
            _log.info("effect %s: its outcome was not committed (%s: %s); the effect runs "
                      "again when its lease ends", self.key, type(exception).__name__,
                      exception)


def outcome_answer(key: str, heard: bool) -> Answer:
    """The answer of effect ``key``'s outcome: a ``Future`` (``heard``) or an :class:`Unheard`.

    Built with the outcome's request, so no ``Future`` is made only to be replaced.
    """
    return Future() if heard else Unheard(key)


def _future() -> Future[InstanceState]:
    return Future()


@dataclass(slots=True)
class StartInstance:
    """Create an instance of ``chart`` at ``version`` (``None``: its newest registered one)."""

    chart: str
    instance_id: str
    data: dict[str, Any] | None = None
    labels: dict[str, str] = field(default_factory=dict)
    future: Answer = field(default_factory=_future)
    version: str | None = None
    #: the caller's W3C trace context, kept with the rows the first step writes
    traceparent: str | None = None
    #: who starts it (the principal's id), the actor of its first log row
    actor: str | None = None

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
    #: instead of ``effect_finish`` when the chart does not take the event: the outbox row
    #: waits and runs later (a ``blocked.effect.<name>`` the chart has no transition for)
    effect_release: EffectRelease | None = None
    #: rows kept for inspection and replay, written with this delivery's commit
    dead_letters: Sequence[DeadLetterRecord] = ()  # (shared when empty: no list per request)
    future: Answer = field(default_factory=_future)
    #: the due time of the timer row this delivery fires (a re-armed timer keeps its id)
    timer_due: float | None = None
    #: commits of this request that lost an optimistic check so far (the engine caps them)
    conflicts: int = 0
    #: an event the chart sent itself, planned right after the step that sent it (in the same
    #: group commit): if that commit is lost, so is this one, and the origin sends it again
    chained: bool = False
    #: a caller's keyed request: the fingerprint of its content, which its mailbox row keeps
    #: (:mod:`~statekeeper.runtime.idempotency`); taken when it is sent, on the caller's thread
    fingerprint: str | None = None
    #: who sends it, for the chart's authorization policy (:mod:`~statekeeper.runtime.authz`)
    principal: Principal | None = None
    #: a caller's delivery (a send, a dead letter's replay): checked against the policy of
    #: its chart, if it has one; the system's own events are not
    authorize: bool = False
    #: the W3C trace context the step continues (the caller's, or the one kept with the
    #: timer or outbox row that caused it), kept with the rows the step writes
    traceparent: str | None = None

    @property
    def row_guarded(self) -> bool:
        """Whether the row this delivery closes makes it happen once: no mailbox row needed.

        A timer's firing deletes its timer row; an effect's outcome closes its outbox row,
        which must be open and leased to the worker that ran the attempt (``owner``).  A
        commit that finds the row gone (or closed, or another worker's) loses, and the
        engine settles the delivery as a duplicate (``conflicts.retry_lost``), so its key
        need not be looked up or written to the mailbox; the log row still keeps it.
        """
        if self.timer_id is not None:
            return True
        finish = self.effect_finish
        return finish is not None and finish.owner is not None


@dataclass(slots=True)
class Administer:
    """An operator's action on an instance's dead letter, recorded in its transition log.

    ``event`` names the action (``statekeeper.dead_letter.replayed`` or ``.discarded``); the
    instance's state does not change.  The letter is deleted, and for a replayed effect its
    outbox row is reopened, in the same commit as the log row, so an action is either fully
    done and logged or not done at all.
    """

    instance: str
    event: Event
    letter_id: int
    reason: str
    reopen: list[EffectReopen] = field(default_factory=list)
    actor: str | None = None
    future: Answer = field(default_factory=_future)
    conflicts: int = 0
    #: the trace context of what the letter was (its effect's outbox row): the action's step
    #: is a span in that trace, and its log row keeps it as ``trace_id``
    traceparent: str | None = None


Request = StartInstance | DeliverEvent | Administer


def timer_key(timer: TimerRecord) -> str:
    """The idempotency key of one firing of a timer.

    ``after`` timer ids are reused each time their state is entered, so the due time is part
    of the key: a re-armed timer is due strictly later than one that already fired.
    """
    return f"statekeeper.timer:{timer.timer_id}@{timer.due!r}"


def timer_delivery(timer: TimerRecord, *, event: Event | None = None,
                   lateness: float | None = None, chained: bool = False,
                   answer: Answer | None = None) -> DeliverEvent:
    """The delivery of ``timer``'s event (or ``event`` in its place), which closes its row.

    Lenient (SCXML drops a chart's own event nobody takes), keyed by :func:`timer_key` so a
    redelivery after a crash is a duplicate.  ``answer`` replaces the default ``Future``.
    """
    return DeliverEvent(timer.instance, Event.from_dict(timer.event) if event is None else event,
                        strict=False, idempotency_key=timer_key(timer), timer_id=timer.timer_id,
                        lateness=lateness, timer_due=timer.due, chained=chained,
                        future=_future() if answer is None else answer,
                        traceparent=timer.traceparent)
