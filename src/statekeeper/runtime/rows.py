"""A snapshot as the instance row keeps it, and back.

Why: the instance row already has columns for the chart, its structure hash, the instance id
(the snapshot's session) and the configuration.  Repeating them inside the snapshot's JSON text
made every commit encode and write them twice; the hash alone is 64 characters.  So the row's
snapshot holds the rest, and reading puts the columns back.

Rows written before this form hold the whole snapshot: they read the same way.  Whatever a row's
JSON does say about those fields must agree with its columns; a row that disagrees with itself
is corrupted and is refused, never repaired.
"""

from __future__ import annotations

from typing import Any

from ..core.errors import SnapshotError
from ..core.snapshot import SNAPSHOT_FORMAT, Snapshot
from ..storage.records import FrozenDict, InstanceRecord

__all__ = ["frozen_row", "snapshot_from_row", "snapshot_to_row"]


def snapshot_to_row(snapshot: Snapshot) -> dict[str, Any]:
    """The snapshot without what the row's columns hold (format, chart, hash, session, states)."""
    return {
        "version": snapshot.version,
        "data": snapshot.data,
        "history": {k: list(v) for k, v in snapshot.history.items()} if snapshot.history else {},
        "timers": snapshot.timers,
        "invokes": snapshot.invokes,
        "done": snapshot.done,
        "done_data": snapshot.done_data,
        "counter": snapshot.counter,
        "parent": snapshot.parent,
    }


def frozen_row(snapshot: Snapshot) -> FrozenDict:
    """:func:`snapshot_to_row` as the engine commits it: a :class:`FrozenDict`, not yet encoded.

    ``text`` is set to ``None``, so the encoder finds the slot empty without the
    ``AttributeError`` (and its formatted message) that reading an unset slot raises.
    """
    row = FrozenDict(snapshot_to_row(snapshot))
    row.text = None
    return row


def snapshot_from_row(record: InstanceRecord) -> Snapshot:
    """The whole snapshot of an instance row.

    Raises:
        SnapshotError: the snapshot text is malformed, or says something its columns do not.

    """
    raw = record.snapshot
    if not isinstance(raw, dict):
        raise SnapshotError("not a statekeeper snapshot (not a JSON object)")
    columns = {"format": SNAPSHOT_FORMAT, "chart": record.chart, "hash": record.hash,
               "session": record.id, "configuration": list(record.configuration)}
    for key, value in columns.items():
        if key in raw and raw[key] != value:
            raise SnapshotError(f"its snapshot says {key} {raw[key]!r}, its row {value!r}")
    if "version" in raw and str(raw["version"]) != record.version:
        raise SnapshotError(f"its snapshot says version {raw['version']!r}, its row "
                            f"{record.version!r}")
    return Snapshot.from_dict({**raw, **columns})
