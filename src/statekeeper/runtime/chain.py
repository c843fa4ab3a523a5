"""Events a chart sends itself without delay, processed right after the step that sent them.

SCXML puts such an event on the instance's external queue: it is processed after the current
event and before anything that arrives later, a caller's next event or a timer falling due at
the same moment.  The planner records each one as a timer row due at once (so it is durable
with the step that sent it); the engine then plans its delivery at once, in the same group
commit, which deletes the row again.  A send whose delivery cannot be planned now (the chain
is too long, or its planning failed) keeps its row, and the worker delivers it later.

The caller of the event that started a chain is answered with the state the chain settled in,
as :meth:`statekeeper.Machine.send` returns the configuration after the chart's own events.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable
from typing import Any

from ..core.snapshot import Snapshot
from ..storage.records import InstanceRecord
from .planner import SELF_SEND_PREFIX, Plan
from .requests import DeliverEvent, timer_delivery

__all__ = ["CHAIN_LIMIT", "chain", "sent_to_self", "settle", "unsettle"]

#: deliveries chained after one request at most; a chart that keeps sending itself events
#: leaves the rest to the worker instead of growing one group commit without bound
CHAIN_LIMIT = 100


def chain(origin: Plan, plan: Callable[[DeliverEvent], Plan | None],
          working: dict[str, tuple[InstanceRecord, Snapshot]],
          planned: list[tuple[Any, Plan]]) -> None:
    """Plan the events ``origin``'s step sent itself, in order, right after it.

    ``plan`` plans one delivery on ``working`` (the batch's latest state of each instance);
    each planned one joins ``planned`` and ``working``, and its own sends queue behind the
    rest.  Then ``origin``'s caller is answered with the state the chain ended in.
    """
    sent = sent_to_self(origin)
    if not sent:  # timers set, none of them a send to self (the usual timer)
        return
    queued = deque(sent)
    last = origin
    for _ in range(CHAIN_LIMIT):
        if not queued:
            break
        request = queued.popleft()
        planned_one = plan(request)
        if planned_one is None or planned_one.commit is None or planned_one.snapshot is None:
            break  # not planned: its row stays for the worker, and so do the ones after it
        working[planned_one.commit.instance.id] = (planned_one.commit.instance,
                                                   planned_one.snapshot)
        planned.append((request, planned_one))
        queued.extend(sent_to_self(planned_one))
        last = planned_one
    settle(origin, last)


def sent_to_self(plan: Plan) -> list[DeliverEvent]:
    """The deliveries of the events ``plan``'s step sent its own instance without delay."""
    commit = plan.commit
    if commit is None or not commit.timers_set:
        return []
    return [timer_delivery(t, chained=True)
            for t in commit.timers_set if t.timer_id.startswith(SELF_SEND_PREFIX)]


def settle(origin: Plan, last: Plan) -> None:
    """Answer ``origin``'s caller with the state its chain ended in (its own outcome kept).

    The mailbox row of an idempotency key keeps that answer too: a repeated request gets
    what the first one got.
    """
    if origin.commit is None or last is origin:
        return
    mailbox = origin.commit.mailbox
    origin.unsettled = (origin.state, mailbox)
    state = dataclasses.replace(last.state, outcome=origin.state.outcome)
    origin.state = state
    if mailbox is not None:
        origin.commit.mailbox = dataclasses.replace(mailbox, result=state.to_dict())


def unsettle(plan: Plan) -> None:
    """Undo :func:`settle`: ``plan`` is committed without its chain, so it answers for itself."""
    if plan.unsettled is not None and plan.commit is not None:
        plan.state, plan.commit.mailbox = plan.unsettled
        plan.unsettled = None
