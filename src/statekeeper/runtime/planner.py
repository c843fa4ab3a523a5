"""Turn one request into one commit: run the pure step and describe what it writes.

(Into two for an instance migrated lazily first: the migration's commit rides along with the
event's, see :mod:`.lazy`.)

No I/O happens here apart from reading the instance through the engine's loader; the commit is
written later, grouped with others, by :mod:`statekeeper.runtime.engine`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from ..core._records import positional_constructor
from ..core.commands import LogEntry
from ..core.errors import EventNotAccepted, MachineFinished, SnapshotError, SnapshotMismatch
from ..core.events import Event
from ..core.migration import MigrationError
from ..core.snapshot import Snapshot
from ..storage import why_not_json
from ..storage.base import IntegrityError
from ..storage.records import (
    Commit,
    DeadLetterRecord,
    EffectFinish,
    FrozenDict,
    InstanceRecord,
    MailboxRecord,
    TransitionRecord,
)
from .authz import NotAuthorized, check_entered, log_denied
from .command_rows import SELF_SEND_PREFIX, SEND_EFFECT, command_rows
from .lazy import migrate_first
from .microsteps import audit_microsteps
from .registry import Registered, Registry
from .requests import Administer, DeliverEvent, StartInstance
from .rows import frozen_row
from .shadow_step import observe_shadow
from .start_memo import initial_outcome
from .state import InstanceState, copy_data, with_own_data
from .step_memo import Outcome, memo_step

__all__ = ["SELF_SEND_PREFIX", "SEND_EFFECT", "Plan", "plan_admin", "plan_delivery", "plan_denied",
           "plan_poisoned", "plan_start", "stale_timer"]

#: The event a worker delivers instead of an overdue timer whose policy is "skip".
SKIPPED_TIMER = "statekeeper.timer.skipped"


@dataclass(slots=True)
class Plan:
    """A planned commit and what to answer once it is durable."""

    commit: Commit | None
    state: InstanceState
    snapshot: Snapshot | None = None
    error: BaseException | None = None
    logs: Sequence[LogEntry] = ()
    wake_effects: bool = False
    next_timer: float | None = None
    #: the answer and mailbox row before :func:`~statekeeper.runtime.chain.settle` replaced
    #: them with the chain's (kept in case the chain is not committed with this plan)
    unsettled: tuple[InstanceState, MailboxRecord | None] | None = None
    #: since when the instance was in its configuration before the step (``None``: a start)
    since: float | None = None
    #: the lazy migration of the instance, written just before ``commit`` in the same
    #: transaction (:mod:`~statekeeper.runtime.lazy`)
    migration: Commit | None = None


def plan_start(request: StartInstance, entry: Registered, now: float) -> Plan:
    """The initial step of a new instance (memoised when it can be), as a commit creating it."""
    chart = entry.chart
    snapshot, status, microsteps, commands = initial_outcome(
        chart, copy_data(request.data or {}), request.instance_id, now)
    record = InstanceRecord(
        id=request.instance_id, chart=chart.name, version=str(chart.version), hash=chart.hash,
        snapshot={}, configuration=(), labels=dict(request.labels), created_at=now,
        updated_at=now,
    )
    return _plan(entry, record, None, (snapshot, status, microsteps, commands, False),
                 Event("statekeeper.start", request.data), now, None, request)


def plan_delivery(request: DeliverEvent, record: InstanceRecord, snapshot: Snapshot,
                  registry: Registry, now: float, *, checked: bool = False) -> Plan:
    """Run the step for one event on the instance as read, and describe the commit.

    ``checked`` says ``snapshot`` is known to be a state of its chart (a step of the chart
    made it, or an earlier delivery checked it): a snapshot read from a row is checked once,
    not on every event.
    """
    entry = registry.get(record.chart, record.version, record.hash)
    if not checked:
        try:
            snapshot.check(entry.chart)
        except SnapshotMismatch:
            raise
        except SnapshotError as exc:  # the row names its chart but its state is not of it
            raise IntegrityError(f"instance {record.id!r} holds a corrupted snapshot: "
                                 f"{exc}") from None
    if registry.lazy and record.chart in registry.lazy:
        try:
            moved = migrate_first(request, record, snapshot, registry, now)
        except MigrationError as exc:  # the instance stays; the event is not applied on it
            if request.strict:
                raise
            return plan_poisoned(request, record, snapshot, now, f"lazy migration: {exc}")
        if moved is not None:  # the migration's commit, then the event's (lazy.py)
            plan = plan_delivery(moved.request, moved.record, moved.snapshot, registry, now,
                                 checked=True)
            plan.migration = moved.commit if plan.commit is not None else None
            return plan
    event = request.event
    if entry.outcome_events and (request.effect_finish or request.effect_release) is not None:
        # an effect in flight when its instance was migrated: its outcome under the name
        # the migration gave it (statekeeper.core.migration.Migration.outcomes)
        event = dataclasses.replace(event, name=entry.outcome_events.get(event.name, event.name))
    if event.data is not None and isinstance(event.data, dict | list | tuple):
        # the step may keep the data in the snapshot: not the caller's own object
        event = with_own_data(event)
    stale = stale_timer(request, snapshot)
    if snapshot.done or stale:
        # Finished, or a timer another worker already fired (or that was cancelled, or re-armed
        # since: ``after`` ids are reused): keep the books, change nothing.
        if request.strict:
            error: BaseException = MachineFinished(event.name, snapshot.configuration)
            return Plan(None, InstanceState.from_record(record), error=error)
        return _bookkeeping(record, snapshot, request, now, "ignored",
                            "timer cancelled or already fired" if stale
                            else "instance finished", before=snapshot,
                            close_timer=not stale)
    if event.name == SKIPPED_TIMER and request.timer_id is not None:
        # Overdue under a "skip" policy: the chart never sees it; the log keeps its lateness.
        timers = {k: v for k, v in snapshot.timers.items() if k != request.timer_id}
        return _bookkeeping(record, dataclasses.replace(snapshot, timers=timers), request, now,
                            "ignored", f"timer {request.timer_id} skipped: "
                            f"{request.lateness or 0.0:.3f}s late", before=snapshot)
    result = memo_step(entry, snapshot, event, now, request)
    if request.authorize and registry.policies and record.chart in registry.policies:
        # a sensitive state entered: the pure step's result is dropped, not committed
        why = check_entered(registry.policies[record.chart], request.principal, result[2])
        if why is not None:
            return plan_denied(request, record, snapshot, now, why)
    if registry.shadows:  # also stepped on a new version
        observe_shadow(registry, record, snapshot, event, now, result, request)
    if result[1] == "rejected":
        outcome = "rejected" if request.strict else "ignored"
        plan = _bookkeeping(record, result[0], request, now, outcome,
                            "no transition accepts the event", before=snapshot)
        if request.strict:
            plan.error = EventNotAccepted(event.name, snapshot.configuration)
        return plan
    return _plan(entry, record, snapshot, result, event, now, request, request)


def plan_admin(request: Administer, record: InstanceRecord, snapshot: Snapshot,
               now: float) -> Plan:
    """An operator's action as a log row of its own; the state and data stay as they are."""
    rev = record.rev + 1
    new = _record(record, snapshot, rev, now, snapshot)
    row = TransitionRecord(
        instance=record.id, seq=rev, event=request.event.name, source=record.configuration,
        target=record.configuration, chart_version=record.version, outcome="applied", at=now,
        data=request.event.data, actor=request.actor, reason=request.reason,
        trace_id=request.traceparent)
    commit = Commit(new, record.rev, [row], effects_reopened=list(request.reopen),
                    dead_letters_deleted=[request.letter_id])
    plan = Plan(commit, InstanceState.from_record(new, "applied"), snapshot,
                since=record.entered)
    plan.wake_effects = bool(request.reopen)
    return plan


def plan_denied(request: DeliverEvent, record: InstanceRecord, snapshot: Snapshot,
                now: float, reason: str) -> Plan:
    """A caller's event refused by authorization: a ``denied`` log row, nothing else changes.

    Written like a rejected event (the row in the group commit, the error raised once it is
    durable), so ``audit(outcome="denied")`` finds every refusal with its actor.
    """
    principal = request.principal
    log_denied(record.id, record.chart, request.event.name, principal, reason)
    if request.actor is None and principal is not None:
        request.actor = principal.id
    plan = _bookkeeping(record, snapshot, request, now, "denied", reason, before=snapshot)
    plan.error = NotAuthorized(record.id, request.event.name,
                               None if principal is None else principal.id, reason)
    return plan


def plan_poisoned(request: DeliverEvent, record: InstanceRecord, snapshot: Snapshot,
                  now: float, error: str) -> Plan:
    """A timer's or effect's event whose step could not be stored, as a dead letter.

    Nobody waits on such an event, and delivering it again would fail the same way, so it is
    logged as rejected (the state and data stay as they are), its timer or outbox row is
    closed, and the event is kept as a dead letter to replay once the chart is fixed.
    """
    event = request.event.to_dict()
    if why_not_json(event) is not None:  # the event itself is the problem: keep its name
        event = {"name": request.event.name, "data": None}
    letter = DeadLetterRecord("event", record.id, request.idempotency_key or f"{record.id}:"
                              f"{record.rev + 1}:poisoned", {"event": event, "from": "runtime",
                              "traceparent": request.traceparent}, [error], now)
    finish = request.effect_finish
    if finish is not None:
        finish = EffectFinish(finish.key, "dead", error, owner=finish.owner)
    plain = dataclasses.replace(request, event=Event(request.event.name, event.get("data")),
                                effect_finish=finish, effect_release=None,
                                dead_letters=[*request.dead_letters, letter])
    after = snapshot
    if request.timer_id in snapshot.timers:  # its row is deleted: the snapshot lets it go too
        after = dataclasses.replace(snapshot, timers={
            k: v for k, v in snapshot.timers.items() if k != request.timer_id})
    return _bookkeeping(record, after, plain, now, "rejected",
                        f"its step cannot be stored: {error}", before=snapshot)


# The hot path's records, every field given, without a frozen dataclass's object.__setattr__
# per field (a quarter of the writer thread's time once).  Called positionally: a keyword call
# costs ~60 ns more per record, five records a step.  mypy checks each call's arguments against
# the class's own fields (positional_constructor is typed as the class); everything else in
# the runtime builds records by keyword.
_new_instance_record = positional_constructor(InstanceRecord)
_new_transition = positional_constructor(TransitionRecord)
_new_commit = positional_constructor(Commit)
_new_plan = positional_constructor(Plan)
#: Rows of a kind a step writes none of: one shared empty tuple (the fields are read-only
#: sequences; a step with commands gets lists of its own), so a step allocates no empty lists
#: for the GC (durable.md)
_NO_ROWS: tuple[()] = ()


def stale_timer(request: DeliverEvent, snapshot: Snapshot) -> bool:
    """Whether a timer delivery no longer matches the timer the snapshot holds under its id.

    Fired elsewhere, cancelled, or re-armed since (``after`` ids are reused): the engine
    answers it as a duplicate when the timer's row is gone too (see ``Engine._plan``).
    """
    timer_id = request.timer_id
    if timer_id is None or timer_id.startswith(SELF_SEND_PREFIX):
        return False
    pending = snapshot.timers.get(timer_id)
    if pending is None:
        return True
    return request.timer_due is not None and pending.get("due") != request.timer_due


def _bookkeeping(record: InstanceRecord, snapshot: Snapshot, request: DeliverEvent, now: float,
                 outcome: str, reason: str, *, before: Snapshot,
                 close_timer: bool = True) -> Plan:
    rev = record.rev + 1
    new = _record(record, snapshot, rev, now, before)
    row = TransitionRecord(
        instance=record.id, seq=rev, event=request.event.name, source=record.configuration,
        target=record.configuration, chart_version=record.version, outcome=outcome,  # type: ignore[arg-type]
        at=now, data=request.event.data, actor=request.actor,
        trace_id=request.trace_id or request.traceparent,
        reason=reason, idempotency_key=request.idempotency_key,
    )
    # A stale timer's row is gone, or belongs to the re-armed timer: it is not this one's.
    # An outcome the chart did not take may ask for its effect to wait and run later instead.
    release = request.effect_release
    commit = Commit(new, record.rev, [row],
                    timer_fired=request.timer_id if close_timer else None,
                    effect_finished=request.effect_finish if release is None else None,
                    effect_released=release, dead_letters=list(request.dead_letters))
    state = InstanceState.from_record(new, outcome)
    if request.idempotency_key and outcome == "ignored" and not request.row_guarded:
        commit.mailbox = MailboxRecord(record.id, request.idempotency_key, request.event.name,
                                       state.to_dict(), now, request.fingerprint)
    return Plan(commit, state, snapshot, since=record.entered)


def _record(record: InstanceRecord, snapshot: Snapshot, rev: int, now: float,
            before: Snapshot | None, moved: bool = False) -> InstanceRecord:
    """The instance row after a step from ``before`` (the snapshot ``record`` holds) to ``snapshot``.

    When the step changed nothing the row's snapshot holds (it only moved the configuration,
    which has a column of its own), the row keeps the same :class:`FrozenDict`, and with it
    the JSON text already encoded for it.  ``moved`` says so already (a memoised step).
    """
    row = record.snapshot
    if type(row) is not FrozenDict or not (moved or (
            before is not None and _same_row(before, snapshot))):
        row = frozen_row(snapshot)
    return _new_instance_record(  # id chart version hash snapshot configuration status rev ...
        record.id, record.chart, record.version, record.hash, row, snapshot.configuration,
        "done" if snapshot.done else "active", rev, record.labels, record.created_at, now,
        record.entered_on(snapshot.configuration, now))


def _same_row(a: Snapshot, b: Snapshot) -> bool:
    """Whether two snapshots have the same row form, by identity of everything mutable."""
    return (a.data is b.data and a.history is b.history and a.timers is b.timers
            and a.invokes is b.invokes and a.done_data is b.done_data and a.done == b.done
            and a.counter == b.counter and a.parent == b.parent and a.version == b.version)


def _plan(entry: Registered, record: InstanceRecord, before: Snapshot | None, result: Outcome,
          event: Event, now: float, delivery: DeliverEvent | None,
          request: StartInstance | DeliverEvent) -> Plan:
    after, status, microsteps, commands, moved = result
    rev = record.rev + 1
    new = _record(record, after, rev, now, before, moved)
    row = _new_transition(  # instance seq event source target chart_version outcome at data
        record.id, rev, event.name, before.configuration if before is not None else (),
        after.configuration, record.version, status, now, event.data,
        request.actor,  # actor trace_id reason idempotency_key ...
        (delivery.trace_id or delivery.traceparent) if delivery else request.traceparent,
        None if delivery is None or delivery.lateness is None
        else f"timer fired {delivery.lateness:.3f}s late",
        delivery.idempotency_key if delivery else None,
        audit_microsteps(microsteps), None)  # microsteps id
    letters = list(delivery.dead_letters) if delivery and delivery.dead_letters else _NO_ROWS
    commit = _new_commit(  # instance expected_rev transitions effects timers_set timers_cancelled
        new, None if before is None else record.rev, [row], _NO_ROWS, _NO_ROWS, _NO_ROWS,
        delivery.timer_id if delivery else None,  # timer_fired
        delivery.effect_finish if delivery else None, None,  # effect_finished mailbox
        letters, None, _NO_ROWS, _NO_ROWS)  # dead_letters effect_released reopened deleted
    plan = _new_plan(commit, InstanceState.from_record(new, status), after, None, _NO_ROWS,
                     False, None, None,  # error logs wake_effects next_timer unsettled, then
                     None if before is None else record.entered, None)  # since migration
    if commands:
        command_rows(plan, commit, entry, record.id, commands, now, rev, request.traceparent)
    if delivery is not None and delivery.idempotency_key and not delivery.row_guarded:
        # (a timer's firing, or an effect's outcome, is guarded by the row this commit deletes
        # or closes: no mailbox row)
        commit.mailbox = MailboxRecord(record.id, delivery.idempotency_key, event.name,
                                       plan.state.to_dict(), now, delivery.fingerprint)
    return plan
