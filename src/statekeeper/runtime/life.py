"""One instance's life read from its transition log: how long it stayed in each state.

Why from the log: every committed step has its row with its time, so the log alone says when
each state was entered and left, on any backend, for instances long finished; nothing else
needs storing.  A state is entered by an ``applied`` or ``migrated`` row whose target holds
it and its source did not, and left by one whose source held it and its target does not;
rows that change nothing (a rejected or ignored event, a transition that stayed inside the
same configuration) neither enter nor leave a state.  A pruned log starts mid-life: the
states of its first row's source were entered before it, at a time the log no longer holds
(unknown: ``None``, and left out of the totals).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..storage.records import TransitionRecord

__all__ = ["Step", "time_in_states", "walk"]

_MOVES = frozenset({"applied", "migrated"})


@dataclass(frozen=True, slots=True)
class Step:
    """A log row with what it meant for the instance's states.

    ``in_source`` is how long the instance had been in the states the row left (the most
    recently entered of them), or, for a row that left none, since its configuration last
    changed; ``None`` when the log does not say (pruned).
    """

    row: TransitionRecord
    in_source: float | None
    left: tuple[str, ...]
    entered: tuple[str, ...]


def walk(rows: Sequence[TransitionRecord]) -> list[Step]:
    """Each row of one instance's log (oldest first) with its time in the source states."""
    since: dict[str, float | None] = {}
    if rows and rows[0].seq > 1:  # pruned: its source was entered at a time the log lost
        since = dict.fromkeys(rows[0].source, None)
    steps: list[Step] = []
    for row in rows:
        moved = row.outcome in _MOVES
        left = tuple(s for s in row.source if s not in row.target) if moved else ()
        entered = tuple(s for s in row.target if s not in row.source) if moved else ()
        times = [since.get(s) for s in (left or row.source)]
        known = [t for t in times if t is not None]
        in_source = row.at - max(known) if known and len(known) == len(times) else None
        for state in left:
            since.pop(state, None)
        for state in entered:
            since[state] = row.at
        steps.append(Step(row, in_source, left, entered))
    return steps


def time_in_states(rows: Sequence[TransitionRecord], now: float | None = None
                   ) -> dict[str, float]:
    """Seconds spent in each state over the log, in the order states were first entered.

    A state the instance is still in counts until ``now`` (``None``: until its last row).
    A state entered before a pruned (or partial) log's first row is left out: the log no
    longer says for how long the instance was in it.
    """
    totals: dict[str, float] = {}
    since: dict[str, float] = {}
    for step in walk(rows):
        at = step.row.at
        for state in step.left:
            if state in since:
                totals[state] = totals.get(state, 0.0) + at - since.pop(state)
        for state in step.entered:
            since[state] = at
            totals.setdefault(state, 0.0)
    end = now if now is not None else rows[-1].at if rows else None
    if end is not None:
        for state, entered in since.items():
            totals[state] = totals.get(state, 0.0) + max(0.0, end - entered)
    return totals
