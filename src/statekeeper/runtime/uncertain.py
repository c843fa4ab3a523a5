"""Which steps of a group landed, when the connection was lost while the database committed.

Why: a client of a database server cannot tell whether a transaction whose COMMIT got no
answer committed (the server may have committed, then the connection died).  Telling every
caller "not committed" would make a step without an idempotency key apply twice when it is
sent again; telling them "committed" would lose steps that did not land.  Each step writes its
log rows in the same transaction as its state, and a log row holds the time and the event the
step was planned with, so reading the first row of each step back says which landed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from ..storage.base import Store, UnknownInstance
from ..storage.records import Commit, TransitionRecord
from .planner import Plan
from .requests import Request, StartInstance

__all__ = ["SortedOut", "sort_out", "steps_landed"]

_log = logging.getLogger("statekeeper.runtime")


def _same(stored: TransitionRecord, written: TransitionRecord) -> bool:
    return (stored.seq, stored.event, stored.at, stored.outcome, stored.idempotency_key,
            tuple(stored.source), tuple(stored.target), stored.actor, stored.trace_id) == \
        (written.seq, written.event, written.at, written.outcome, written.idempotency_key,
         tuple(written.source), tuple(written.target), written.actor, written.trace_id)


def steps_landed(store: Store, commits: Sequence[Commit]) -> set[int] | None:
    """The ``id()`` of each commit whose log row is in the store; ``None`` if it cannot tell.

    It cannot tell for a commit that writes no log row.  Reads the store: raises what its
    reads raise (a :class:`~statekeeper.storage.StoreUnavailable` while the server is away).
    """
    landed: set[int] = set()
    for commit in commits:
        if not commit.transitions:
            return None
        first = commit.transitions[0]
        try:
            rows = store.history(commit.instance.id, after=first.seq - 1, limit=1)
        except UnknownInstance:
            continue  # a start that did not land
        if rows and _same(rows[0], first):
            landed.add(id(commit))
    return landed


@dataclass(frozen=True, slots=True)
class SortedOut:
    """A group whose COMMIT got no answer, sorted out by :func:`sort_out`."""

    again: list[Request]  # starts that did not land: planned again from scratch
    rest: list[tuple[Request, Plan]]  # every other request, answered as the group's commit
    lost: list[Commit]  # the commits of ``rest`` that did not land: handled as conflicts


def sort_out(store: Store, planned: list[tuple[Request, Plan]],
             commits: list[Commit]) -> SortedOut | None:
    """Which of ``planned`` landed; ``None`` when the store cannot tell (it is still away).

    A step that landed is answered as committed; one that did not is planned again, as after
    a conflict (a timer fired or an effect closed meanwhile is settled then, as usual).
    """
    try:
        landed = steps_landed(store, commits)
    except Exception:  # noqa: BLE001 - still away: the callers hear it may have landed
        return None
    if landed is None:
        return None
    _log.warning("the connection was lost during a commit; %d of its %d step(s) had landed, "
                 "the others are planned again", len(landed), len(commits))
    again: list[Request] = []
    rest: list[tuple[Request, Plan]] = []
    lost: list[Commit] = []
    for request, plan in planned:
        commit = plan.commit
        if commit is None or id(commit) in landed:
            rest.append((request, plan))
        elif isinstance(request, StartInstance):
            again.append(request)
        else:
            rest.append((request, plan))
            lost.append(commit)
    return SortedOut(again, rest, lost)
