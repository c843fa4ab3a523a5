"""Rows as the stores read and write them (``*Record`` types), separate from the public API.

A store persists exactly these; the runtime builds them from step results.  All payloads are
JSON-able values; the store decides how to encode them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Commit",
    "CorruptedRow",
    "DeadLetterRecord",
    "EffectFinish",
    "EffectRecord",
    "EffectRelease",
    "EffectReopen",
    "InstanceRecord",
    "MailboxRecord",
    "PolicyStateRecord",
    "ShadowRecord",
    "TimerRecord",
    "TransitionRecord",
]

InstanceStatus = Literal["active", "done"]
EffectStatus = Literal["pending", "running", "done", "failed", "dead"]
Outcome = Literal["applied", "ignored", "rejected", "migrated", "denied"]


class FrozenList(list):  # type: ignore[type-arg]
    """A list its producer promises never to mutate, so encoders may cache its JSON text.

    The runtime shares one per repeated step's microsteps; a plain list is encoded every time.
    """

    __slots__ = ()


class FrozenDict(dict):  # type: ignore[type-arg]
    """A dict its producer promises never to mutate (nor anything in it), so its JSON is kept.

    The runtime builds one per distinct snapshot row and hands the same one to every commit
    whose row did not change (a step that only moved the configuration); the encoder stores
    the text on it the first time and reuses it.  A plain dict is encoded every time.

    A producer that sets ``text`` to ``None`` on a new one saves the encoder an
    ``AttributeError`` (reading a slot never set raises one, and building its message costs
    more than the read): the runtime's planner does, for every snapshot row it makes.
    """

    __slots__ = ("text",)
    text: str | None  # the JSON text, once an encoder has made it (None, or unset: not yet)


@dataclass(frozen=True, slots=True)
class InstanceRecord:
    """One instance: its snapshot and what it is queried by.

    ``rev`` is the optimistic version: every commit must name the ``rev`` it read and bumps it.
    The store is authoritative for it: a commit writes ``expected_rev + 1`` (``1`` when it
    creates the instance) whatever ``rev`` the record carries, so a caller cannot forget the
    bump.  ``created_at`` is written when the instance is created and kept by later commits.

    ``entered_at`` is when the instance entered its configuration: the store keeps it (the
    commit that changes the configuration sets it, a commit of data only keeps it) and
    ``load`` reads it; a record that is written never sets it.  ``None``: not known (a record
    built by a caller), where :attr:`entered` falls back to ``updated_at``.
    """

    id: str
    chart: str
    version: str
    hash: str
    snapshot: dict[str, Any]
    configuration: tuple[str, ...]
    status: InstanceStatus = "active"
    rev: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0
    entered_at: float | None = field(default=None, compare=False)

    @property
    def entered(self) -> float:
        """Since when the instance is in its configuration: ``entered_at``, else ``updated_at``.

        The time in state the logs and metrics report: exact when the store said, and the
        last commit (which errs short, never long) when it did not.
        """
        return self.updated_at if self.entered_at is None else self.entered_at

    def entered_on(self, configuration: tuple[str, ...], now: float) -> float:
        """When the instance is in ``configuration`` since, after a commit at ``now``.

        The rule the stores keep in ``entered_at`` (a commit that changes the configuration
        enters it at ``now``; one that keeps it keeps the entry), for the records the runtime
        builds for its cache, so the cached record and the stored row agree.
        """
        return now if configuration != self.configuration else self.entered


@dataclass(frozen=True, slots=True)
class TransitionRecord:
    """One audit row: an event applied to (or rejected by) an instance.

    ``seq`` numbers an instance's rows from 1 with no gaps, so "applied exactly once" can be
    checked from the log alone.  ``id`` is assigned by the store (ignored on write).
    """

    instance: str
    seq: int
    event: str
    source: tuple[str, ...]
    target: tuple[str, ...]
    chart_version: str
    outcome: Outcome
    at: float
    data: Any = None
    actor: str | None = None
    trace_id: str | None = None
    reason: str | None = None
    idempotency_key: str | None = None
    microsteps: list[Any] = field(default_factory=list)
    id: int | None = None


@dataclass(frozen=True, slots=True)
class MailboxRecord:
    """An idempotency key seen for an instance, and the result first returned for it.

    ``fingerprint`` identifies the first request's content (event name and data, see
    :mod:`statekeeper.runtime.idempotency`), so that the key reused for another request is
    refused; ``None`` in rows written before it was kept.  The SQLite file keeps it in the
    ``result`` column's JSON object (as ``request_fingerprint``): no schema change, and a file
    stays readable by a release that does not know it.
    """

    instance: str
    key: str
    event: str
    result: dict[str, Any]
    at: float
    fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class EffectRecord:
    """An outbox row: an effect to run after its step committed.

    ``key`` (the effect's idempotency key) is unique in the whole outbox.  A claimed row is
    ``running`` with a lease (``lease_owner`` until ``lease_until``); ``attempts`` counts claims.
    ``id`` is assigned by the store (ignored on write) and orders rows oldest first.
    """

    key: str
    instance: str
    name: str
    args: Any
    status: EffectStatus = "pending"
    attempts: int = 0
    available_at: float = 0.0
    lease_owner: str | None = None
    lease_until: float | None = None
    at_most_once: bool = False
    last_error: str | None = None
    errors: list[str] = field(default_factory=list)
    created_at: float = 0.0
    id: int | None = None
    #: the W3C ``traceparent`` of the step that wrote the row (``None``: not traced), so
    #: the attempt's span continues that trace in whichever process runs it
    traceparent: str | None = None


@dataclass(frozen=True, slots=True)
class TimerRecord:
    """A pending timer of ``instance``, identified by ``(instance, timer_id)``.

    Its ``event`` is delivered at ``due`` to ``target`` (``None``: to ``instance`` itself).  The
    timer belongs to ``instance``, which sets, cancels and fires it in its own commits.
    """

    instance: str
    timer_id: str
    due: float
    event: dict[str, Any]
    target: str | None = None
    #: ``"fire_late"`` or ``"skip"`` as the chart stated it; ``"default"``: the chart stated
    #: no policy, and the worker that finds the timer overdue applies its own
    policy: Literal["default", "fire_late", "skip"] = "default"
    #: the W3C ``traceparent`` of the step that set it (``None``: not traced): its firing,
    #: however much later, continues that trace
    traceparent: str | None = None


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    """Work that exhausted its policy, kept with its error history for inspection and replay.

    ``instance`` need not exist (an event for an unknown target can be dead-lettered too).
    ``id`` is assigned by the store (ignored on write).  Kind ``row``: a malformed timer or
    outbox row the store set aside; ``payload`` holds ``table`` and ``row`` (its columns as
    stored, see ``storage/sqlite/_aside.py``), ``errors`` why it could not be read.
    """

    kind: Literal["effect", "event", "row"]
    instance: str
    key: str
    payload: dict[str, Any]
    errors: list[str]
    at: float
    id: int | None = None


@dataclass(slots=True)
class Commit:
    """Everything one step writes, applied atomically with an optimistic version check.

    ``expected_rev`` is the ``rev`` the step read (``None`` when creating the instance).  Every
    row a commit names (transitions, effects, timers, mailbox) belongs to ``instance``; dead
    letters may name any instance.  ``timers_cancelled`` and ``timer_fired`` are timer ids of
    ``instance``.  Timer changes apply in this order: the fired timer is removed, cancelled
    ones are removed (a missing one is a no-op), then ``timers_set`` are upserted, so a step
    may cancel and re-arm the same timer id.

    A commit *conflicts* (is rolled back alone and returned by ``Store.apply``) when it was
    computed from a state that is no longer current:

    * ``expected_rev`` is ``None`` but the instance exists, or the stored ``rev`` differs
      (or the instance is missing);
    * a transition ``(instance, seq)``, an effect ``key`` or a mailbox ``(instance, key)``
      already exists (someone else committed that step, or that idempotency key, first);
    * ``timer_fired`` names no pending timer (it was cancelled or fired meanwhile);
    * ``effect_finished`` or ``effect_released`` names no open (``pending``/``running``)
      outbox row (another attempt already delivered the outcome), so an outcome event is
      applied at most once; or it names an ``owner`` that no longer holds the row's lease
      (the row is not ``running``, or is leased to another worker), so only the worker that
      holds an effect records its outcome;
    * ``effects_reopened`` names a row that is missing or still open, or
      ``dead_letters_deleted`` names a letter that is gone (someone replayed or discarded it
      first).
    """

    instance: InstanceRecord
    expected_rev: int | None
    transitions: list[TransitionRecord] = field(default_factory=list)
    # The rows besides: read-only sequences, so a commit of a step without any can share one
    # empty tuple instead of allocating an empty list for each (a store only reads them).
    effects: Sequence[EffectRecord] = ()
    timers_set: Sequence[TimerRecord] = ()
    timers_cancelled: Sequence[str] = ()
    timer_fired: str | None = None
    effect_finished: EffectFinish | None = None
    mailbox: MailboxRecord | None = None
    dead_letters: Sequence[DeadLetterRecord] = ()
    effect_released: EffectRelease | None = None
    effects_reopened: Sequence[EffectReopen] = ()
    dead_letters_deleted: Sequence[int] = ()


@dataclass(frozen=True, slots=True)
class EffectFinish:
    """Close an outbox row in the same transaction that applies its outcome event.

    ``status`` is ``done``, ``failed`` or ``dead``; the lease is cleared and ``error`` (when
    given) becomes ``last_error`` and is appended to ``errors``.  ``owner``, when given, is the
    worker that ran the attempt: the row must still be ``running`` under its lease, so an
    attempt whose lease another worker took over (it ran past its lease) cannot close the
    row or apply its outcome event; the commit conflicts instead.
    """

    key: str
    status: EffectStatus
    error: str | None = None
    owner: str | None = None


@dataclass(frozen=True, slots=True)
class EffectRelease:
    """Give an open outbox row back for a later attempt, in the transaction of a step.

    Used when an effect's outcome event was not taken by the chart (it did not handle a
    ``blocked.effect.<name>`` event, say): the row waits until ``available_at`` and runs then.
    ``refund`` takes back the attempt its claim counted (no call was made).  ``owner``, when
    given, must still hold the row's lease, as for :class:`EffectFinish`.
    """

    key: str
    available_at: float
    error: str | None = None
    refund: bool = False
    owner: str | None = None


@dataclass(frozen=True, slots=True)
class EffectReopen:
    """Open a closed (``done``/``failed``/``dead``) outbox row again: a dead letter replayed.

    The row becomes ``pending`` at ``available_at`` with its attempts reset to 0; its key (the
    idempotency key the effect is called with) and its error history are kept.
    """

    key: str
    available_at: float


@dataclass(frozen=True, slots=True)
class PolicyStateRecord:
    """Shared state of a resilience policy (a circuit breaker, a token bucket), by key.

    ``version`` is bumped by every write; a write names the version it read (compare and set),
    so two workers updating one breaker never lose each other's outcome.
    """

    key: str
    value: dict[str, Any]
    version: int
    updated_at: float


@dataclass(frozen=True, slots=True)
class ShadowRecord:
    """One event a shadow stepped on a new version too, and how the two versions differed.

    ``state`` is the instance's configuration before the event (its ids joined by commas);
    ``kinds`` what diverged (``configuration``, ``data``, ``commands``, ``accepted``,
    ``unmappable``), empty when the versions agreed; ``expected`` the old version's target
    configuration moved to the new version, ``got`` the new version's.  Kept across processes
    for ``statekeeper shadow-report``; ``id`` is assigned by the store (ignored on write).
    """

    chart: str
    from_version: str
    to_version: str
    instance: str
    state: str
    event: str
    kinds: list[str]
    expected: tuple[str, ...]
    got: tuple[str, ...]
    at: float
    id: int | None = None


@dataclass(frozen=True, slots=True)
class CorruptedRow:
    """A stored row that could not be read, reported instead of failing a whole listing.

    ``key`` names the row in its table (an instance's id; ``?`` when even that is unreadable);
    ``problem`` is the full message, which says what is wrong with which column.
    """

    table: str
    key: str
    problem: str
