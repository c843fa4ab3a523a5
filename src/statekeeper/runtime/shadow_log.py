"""Shadow comparisons kept in the store, so a report covers every process.

Why after the commit and not in it: a shadow is a diagnostic, and the commit path is the hot
path of every store; the comparisons of a group's steps that landed are written in one more
insert once the group's callers are answered (the engine's ``after_answers``).  Only the
steps that committed are kept: a step planned again after a conflict is compared again and
kept once.  A crash between the two writes loses that group's comparisons, never a step;
a failed write is logged (logger ``statekeeper.shadow``) and the steps stand.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Iterator

from ..storage.base import Store
from ..storage.records import ShadowRecord
from .registry import Registry
from .shadow import divergence_table
from .state import InstanceState

__all__ = ["Counts", "ShadowRecorder", "shadow_records", "stored_report", "tally"]

_log = logging.getLogger("statekeeper.shadow")


class ShadowRecorder:
    """Moves the comparisons of committed steps from the shadows to the store's shadow log.

    A shadow calls :meth:`schedule` when it compares a step (on the engine's thread, while
    the engine plans a group): :meth:`flush` then runs once the group's callers are answered
    (``after_answers``), writes the comparisons whose commits landed (:meth:`committed`, an
    ``on_commit`` listener) and forgets the others (lost, to be compared again when planned
    again).
    """

    def __init__(self, store: Store, registry: Registry,
                 after_answers: Callable[[Callable[[], None]], None]) -> None:
        self.store, self.registry, self._after_answers = store, registry, after_answers
        self._landed: list[ShadowRecord] = []
        self._scheduled = False

    def schedule(self) -> None:
        """A comparison is pending: flush at the end of the group being planned (once)."""
        if not self._scheduled:
            self._scheduled = True
            self._after_answers(self.flush)

    def committed(self, state: InstanceState) -> None:
        """A step of ``state.id`` committed at ``state.rev``: its comparison (if any) landed.

        A step's answer may be the state a chain of its own events ended in (a later
        ``rev``); any commit of the instance at or after a comparison's ``rev`` in this group
        means that comparison's commit landed, as the store loses every later commit of an
        instance whose commit it lost.
        """
        for shadow in self.registry.shadows.values():
            waiting = shadow.pending.get(state.id)
            if waiting:
                self._landed += [r for rev, r in waiting if rev <= state.rev]
                shadow.pending[state.id] = [(rev, r) for rev, r in waiting if rev > state.rev]

    def flush(self) -> None:
        """Write what landed; forget the comparisons of steps that did not (lost, replanned)."""
        rows, self._landed, self._scheduled = self._landed, [], False
        for shadow in self.registry.shadows.values():
            shadow.pending.clear()
        if not rows:
            return
        try:
            self.store.add_shadow_records(rows)
        except Exception:  # noqa: BLE001 - a shadow never fails the steps it watched
            _log.exception("%d shadow comparison(s) could not be stored", len(rows))


def shadow_records(store: Store, chart: str, page: int = 1000) -> Iterator[ShadowRecord]:
    """Every stored comparison of ``chart``, oldest first, read a page at a time."""
    after = 0
    while True:
        rows = store.shadow_records(chart, after=after, limit=page)
        yield from rows
        if len(rows) < page:
            return
        after = rows[-1].id or after


#: per pair of versions: events compared, events diverged, and divergences by kind, each
#: per (state, event)
Counts = tuple[Counter[tuple[str, str]], Counter[tuple[str, str]],
               dict[tuple[str, str], Counter[str]]]


def tally(store: Store, chart: str, latest: int = 10
          ) -> tuple[dict[tuple[str, str], Counts], list[ShadowRecord]]:
    """``chart``'s stored comparisons counted per pair of versions, and the latest divergences."""
    pairs: dict[tuple[str, str], Counts] = {}
    recent: deque[ShadowRecord] = deque(maxlen=max(latest, 0))
    for row in shadow_records(store, chart):
        compared, events, kinds = pairs.setdefault((row.from_version, row.to_version),
                                                   (Counter(), Counter(), {}))
        key = (row.state, row.event)
        compared[key] += 1
        if row.kinds:
            events[key] += 1
            kinds.setdefault(key, Counter()).update(row.kinds)
            recent.append(row)
    return pairs, list(recent)


def stored_report(store: Store, chart: str, *, latest: int = 10) -> str:
    """The divergence table of ``chart`` from the store, per pair of versions shadowed.

    The same table as :meth:`~.shadow.Shadow.report`, counted over every process, then the
    ``latest`` divergences with their instance ids.
    """
    pairs, recent = tally(store, chart, latest)
    if not pairs:
        return f"no shadow of {chart!r} has compared a committed step"
    parts = [divergence_table(chart, source, target, *counts)
             for (source, target), counts in sorted(pairs.items())]
    if recent:
        parts.append(f"latest {len(recent)} divergence(s):")
        parts += [f"  {r.instance}  v{r.from_version} -> v{r.to_version}  {r.state} on "
                  f"{r.event!r}: {', '.join(r.kinds)} (expected {list(r.expected)}, got "
                  f"{list(r.got)})" for r in recent]
    return "\n".join(parts)
