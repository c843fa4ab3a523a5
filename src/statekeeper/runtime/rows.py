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
from ..storage._json import dumps_exact
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
    """:func:`snapshot_to_row` as the engine commits it: a :class:`FrozenDict`.

    The row of a plain running instance (no history, timer, invocation or parent: most steps
    of most charts) differs from the last one only in its data, so its JSON text is put
    together here from the data's text and constant parts, without encoding and walking the
    whole row: ``text`` holds exactly what the store's encoder would write (``dumps_exact``
    of the row; ``tests/runtime/test_row_text.py``).  Any other row, or data that cannot be
    encoded, gets ``None``: the encoder makes the text (or refuses the value, naming it).
    ``None`` rather than unset, so the encoder finds the slot empty without the
    ``AttributeError`` (and its formatted message) that reading an unset slot raises.
    """
    history, timers, invokes = snapshot.history, snapshot.timers, snapshot.invokes
    row = FrozenDict(
        version=snapshot.version, data=snapshot.data,
        history={k: list(v) for k, v in history.items()} if history else {},
        timers=timers, invokes=invokes, done=snapshot.done, done_data=snapshot.done_data,
        counter=snapshot.counter, parent=snapshot.parent)
    row.text = None
    version, counter = snapshot.version, snapshot.counter
    if (not history and not timers and not invokes and type(timers) is dict
            and type(invokes) is dict and snapshot.done is False and snapshot.done_data is None
            and snapshot.parent is None and type(counter) is int):
        # (a bool is an int equal to 0 or 1: only str and int versions are looked up)
        prefix = _PREFIXES.get(version) if type(version) is str or type(version) is int \
            else None
        if prefix is None:
            prefix = _prefix(version)
        if prefix:
            try:  # noqa: SIM105 - contextlib.suppress costs a context manager per step
                row.text = f"{prefix}{dumps_exact(snapshot.data)}{_SUFFIX}{counter}{_END}"
            except (TypeError, ValueError, RecursionError):
                pass  # left to the encoder, which refuses it with the value's path
    return row


#: the JSON text of a plain row between its data and its counter, and after its counter
#: (the keys in snapshot_to_row's order; empty history, timers and invokes, not done)
_SUFFIX = ',"history":{},"timers":{},"invokes":{},"done":false,"done_data":null,"counter":'
_END = ',"parent":null}'
#: per chart version (str or int), the JSON text of a plain row before its data
_PREFIXES: dict[object, str] = {}


def _prefix(version: object) -> str:
    """The text before a plain row's data; ``""`` if the version cannot be encoded."""
    try:
        text = f'{{"version":{dumps_exact(version)},"data":'
    except (TypeError, ValueError, RecursionError):
        return ""
    if type(version) is str or type(version) is int:
        if len(_PREFIXES) >= 1024:
            _PREFIXES.clear()
        _PREFIXES[version] = text
    return text


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
