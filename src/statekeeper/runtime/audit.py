"""Every instance row checked against its chart and its own log: what ``statekeeper check`` adds.

Why beyond the store's ``integrity_check`` (every row decodes, no orphans, no log gaps): a row
can decode and still be wrong in ways that stop or corrupt its instance later, and that were
reported as "ok": a configuration naming an unknown state, or two siblings of one compound
state, or missing a region of a parallel one; a configuration column that disagrees with the
snapshot; a structure hash no registered chart has; a negative counter; NaN in data; a ``rev``
that is not its log's last ``seq`` (a rewound row can never commit again).  Each problem is one
line naming the instance and what is wrong.  Instances are read a page at a time, so a large
file is checked in bounded memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

from ..core._restore import chart_problems
from ..core.compile import CompiledChart
from ..core.errors import StatekeeperError
from ..storage.base import Store
from ..storage.records import CorruptedRow, InstanceRecord
from .rows import snapshot_from_row

__all__ = ["audit_instances"]

_PAGE = 500


def _has_nan(value: Any) -> bool:
    """Whether NaN or an infinity is anywhere in ``value`` (iterative: rows may nest deep)."""
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return True
        elif isinstance(item, dict):
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return False


def _instance_problems(store: Store, record: InstanceRecord,
                       charts: dict[str, list[CompiledChart]] | None,
                       unchecked: set[str]) -> Iterator[str]:
    where = f"instance {record.id!r}"
    try:
        snapshot = snapshot_from_row(record)
    except StatekeeperError as exc:
        yield f"{where}: its snapshot disagrees with its row: {exc}"
        return
    if snapshot.counter < 0:
        yield f"{where}: its counter is negative ({snapshot.counter})"
    if record.rev < 1:
        yield f"{where}: its rev is {record.rev}, not 1 or more"
    if _has_nan(snapshot.data) or _has_nan(snapshot.done_data):
        yield f"{where}: its data holds NaN or an infinity, which JSON cannot hold"
    if (record.status == "done") != snapshot.done:
        yield f"{where}: its status is {record.status!r} but its snapshot says done={snapshot.done}"
    if record.rev < 1:
        pass  # named above; the log cannot be read "after" it
    elif store.history(record.id, after=record.rev, limit=1):
        yield (f"{where}: its rev {record.rev} is behind its transition log (the row was "
               "rewound): no step of it can commit")
    elif not store.history(record.id, after=record.rev - 1, limit=1):
        yield f"{where}: its rev {record.rev} is ahead of its transition log (no seq {record.rev})"
    if charts is None:
        return
    versions = charts.get(record.chart)
    if versions is None:
        unchecked.add(record.chart)
        return
    chart = next((c for c in versions if str(c.version) == record.version
                  and c.hash == record.hash), None)
    if chart is None:
        known = ", ".join(f"v{c.version} {c.hash[:12]}" for c in versions)
        yield (f"{where}: chart {record.chart!r} v{record.version} with hash "
               f"{record.hash[:12]} is not among the charts given ({known})")
        return
    for problem in chart_problems(snapshot, chart):
        yield f"{where}: {problem}"


def audit_instances(store: Store, charts: Iterable[CompiledChart] | None = None,
                    unchecked: set[str] | None = None) -> Iterator[str]:
    """Every problem of every instance row, one line each, reading a page of rows at a time.

    With ``charts`` (every version an instance may run), each row is also checked against its
    chart: structure hash known, configuration legal; the names of charts that instances run
    but ``charts`` lacks are added to ``unchecked``.  Rows that do not decode at all are left
    to ``integrity_check``, which names them.
    """
    unchecked = set() if unchecked is None else unchecked
    by_name: dict[str, list[CompiledChart]] | None = None
    if charts is not None:
        by_name = {}
        for chart in charts:
            by_name.setdefault(chart.name, []).append(chart)
    after: str | None = None
    while True:
        corrupted: list[CorruptedRow] = []
        page = store.query(limit=_PAGE, after=after, corrupted=corrupted)
        for record in page:
            yield from _instance_problems(store, record, by_name, unchecked)
        if len(page) < _PAGE:
            return
        after = page[-1].id
