"""The cross-row rules of ``integrity_check``, worded once for every store.

Each store finds the rows that break a rule its own way (SQL queries in SQLite, a walk over
dictionaries in memory); the wording of each problem lives here, so a report reads the same
whichever store wrote it, and the contract suite can compare them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._decode import decode_problems
from .tables import INSTANCES, TABLES, TIMERS, TRANSITIONS

__all__ = ["count_drift", "done_timer", "orphan", "row_problems", "seq_gap"]

#: (table, position of its instance id) for every table whose rows belong to an instance
_OWNED = tuple((t.name, t.at(t.owner)) for t in TABLES.values() if t.owner is not None)
_ID, _STATUS = INSTANCES.positions("id", "status")
_INSTANCE, _SEQ = TRANSITIONS.positions("instance", "seq")
_TIMER = TIMERS.positions("instance", "timer_id")


def orphan(table: str, instance: str) -> str:
    """Rows of ``table`` name an instance that does not exist."""
    return f"{table} rows of unknown instance {instance!r}"


def seq_gap(instance: str, rows: int, low: int, high: int) -> str:
    """An instance's log has gaps in ``seq`` (a pruned log may start after 1, without gaps)."""
    return f"transitions of {instance!r} have gaps in seq ({rows} rows, seq {low}..{high})"


def done_timer(instance: str, timer_id: str) -> str:
    """A finished instance still holds a pending timer."""
    return f"timer {timer_id!r} of finished instance {instance!r}"


def count_drift(chart: str, version: str, state: str, kept: int, counted: int,
                repaired: bool) -> str:
    """The kept count of a state (``Store.recount_states``) differs from the instances."""
    then = ("repaired: the kept counts were rebuilt from the instances" if repaired
            else "statekeeper check --repair rebuilds the counts")
    return (f"instances of {chart!r} v{version} in state {state!r}: {kept} kept, {counted} "
            f"counted ({then})")


def row_problems(tables: Mapping[str, Sequence[Sequence[Any]]]) -> list[str]:
    """Every problem of a whole store given as rows per table (as read: ``Table.columns``).

    What the SQLite store's checks find with queries, found by walking the rows: each row
    decodes, each owned row's instance exists, each log is gap-free, and no finished
    instance holds a timer.
    """
    problems = [p for table, rows in tables.items() for p in decode_problems(table, rows)]
    status = {row[_ID]: row[_STATUS] for row in tables["instances"]}
    for table, column in _OWNED:
        problems += [orphan(table, iid)
                     for iid in sorted({row[column] for row in tables[table]} - status.keys())]
    seqs: dict[str, list[int]] = {}
    for row in tables["transitions"]:
        seqs.setdefault(row[_INSTANCE], []).append(row[_SEQ])
    problems += [seq_gap(iid, len(found), min(found), max(found))
                 for iid, found in sorted(seqs.items())
                 if sorted(found) != list(range(min(found), min(found) + len(found)))]
    problems += [done_timer(iid, tid) for iid, tid in _sorted_pairs(tables["timers"])
                 if status.get(iid) == "done"]
    return problems


def _sorted_pairs(rows: Iterable[Sequence[Any]]) -> list[tuple[str, str]]:
    return sorted({(row[_TIMER[0]], row[_TIMER[1]]) for row in rows})
