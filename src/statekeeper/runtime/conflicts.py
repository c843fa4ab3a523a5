"""What the engine does with a commit that lost its optimistic ``rev`` check.

Another writer (a worker process, another engine) changed the instance between the read and
the write.  Most requests are simply planned again on the state that writer committed, up to
a limit.  Some must not be: a timer whose row is gone (fired by another worker, or cancelled)
and an effect outcome whose outbox row is closed (another attempt answered it), or whose
lease another worker took over (that worker's attempt answers it), were already handled, and
planning them again could only lose again, forever; they are settled with the current state
instead.  An operator's action on a dead letter that is gone fails.

One conflict is no race at all: an instance row whose ``rev`` is behind its own log (restored
from an older copy, or edited) collides with a logged ``seq`` on every attempt.  Planning it
again could only lose again, so it fails at once with :class:`RevisionBehindLog`, which says
what is wrong, instead of a :class:`CommitConflict` blaming another writer.
"""

from __future__ import annotations

from ..core.snapshot import Snapshot
from ..storage.base import RevisionBehindLog, Store
from ..storage.records import Commit
from .errors import CommitConflict, UnknownDeadLetter
from .planner import stale_timer
from .requests import Administer, DeliverEvent
from .state import InstanceState

__all__ = ["retry_lost", "timer_handled"]


def retry_lost(store: Store, request: DeliverEvent | Administer, commit: Commit,
               max_conflicts: int) -> bool:
    """Settle or fail ``request``, or count the conflict and say it must be planned again.

    Returns ``True`` when the caller should plan the request again; otherwise the request's
    answer has been set here.
    """
    instance = commit.instance.id
    try:
        if isinstance(request, Administer):
            letter = store.dead_letter(request.letter_id)
            if letter is None or letter.instance != instance:
                request.future.set_exception(UnknownDeadLetter(request.letter_id))
                return False
        elif commit.timer_fired is not None and not _timer_row_left(store, request):
            _settle(store, request, instance)
            return False
        finish = commit.effect_finished or commit.effect_released
        if finish is not None and not any(
                e.key == finish.key and e.status in ("pending", "running")
                and (finish.owner is None
                     or (e.status == "running" and e.lease_owner == finish.owner))
                for e in store.effects(instance)):
            _settle(store, request, instance)
            return False
        _check_not_rewound(store, commit)
    except BaseException as exc:  # noqa: BLE001 - the caller gets the error, others go on
        request.future.set_exception(exc)
        return False
    request.conflicts += 1
    if request.conflicts >= max_conflicts:
        request.future.set_exception(CommitConflict(instance, request.conflicts))
        return False
    return True


def timer_handled(store: Store, request: DeliverEvent, snapshot: Snapshot) -> bool:
    """Whether a timer delivery was already handled: fired or cancelled by a committed step.

    A timer fires once because the commit that fires it deletes its row (and a commit that
    finds the row gone loses), not because of a mailbox row: firing writes none.  So when the
    snapshot holds no such timer (:func:`~.planner.stale_timer`) and the row is gone too, read
    after the state, the delivery changes nothing.  With the row still there the snapshot may
    be a stale cached one: the delivery is planned, and the rev check decides.
    """
    return stale_timer(request, snapshot) and not _timer_row_left(store, request)


def _timer_row_left(store: Store, request: DeliverEvent | Administer) -> bool:
    """Whether the store still holds the timer row ``request`` fires."""
    if not isinstance(request, DeliverEvent):
        return False
    return any(t.timer_id == request.timer_id
               and (request.timer_due is None or t.due == request.timer_due)
               for t in store.timers(request.instance))


def _check_not_rewound(store: Store, commit: Commit) -> None:
    """Raise :class:`RevisionBehindLog` if the stored row is unchanged but its log is ahead.

    Another writer's commit moves the row's ``rev`` and its log together, so a row still at
    the ``rev`` the step read, with a log row past it, was rewound.
    """
    if commit.expected_rev is None:
        return
    record = store.load(commit.instance.id)
    if record.rev != commit.expected_rev:
        return  # a real race: another writer committed
    ahead = store.history(record.id, after=record.rev, limit=1)
    if ahead:
        last = store.history(record.id, after=ahead[0].seq)
        raise RevisionBehindLog(record.id, record.rev, last[-1].seq if last else ahead[0].seq)


def _settle(store: Store, request: DeliverEvent | Administer, instance: str) -> None:
    """Answer a delivery that was already handled elsewhere with the current state."""
    request.future.set_result(InstanceState.from_record(store.load(instance), "duplicate"))
