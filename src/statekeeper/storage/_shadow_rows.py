"""The shadow log's rows: encoded and argument-checked the same way by every store.

Why a module of its own: the memory, SQLite and PostgreSQL stores keep the same rows
(:data:`~statekeeper.storage.tables.SHADOW_LOG`), and a wrong record or argument must fail
alike on each, before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._json import dumps
from .records import ShadowRecord
from .tables import SHADOW_LOG

__all__ = ["check_shadow_page", "encode_shadows"]

_TEXT = ("chart", "from_version", "to_version", "instance", "state", "event")


def encode_shadows(records: Sequence[ShadowRecord]) -> list[tuple[Any, ...]]:
    """The rows of ``records`` as an insert writes them (JSON columns as text).

    Raises:
        TypeError: a record is not a :class:`ShadowRecord`, or a field has the wrong type.
        ValueError: ``at`` is not a finite number.

    """
    rows = []
    for record in records:
        if not isinstance(record, ShadowRecord):
            raise TypeError(f"add_shadow_records takes ShadowRecords, not {record!r}")
        for name in _TEXT:
            if type(getattr(record, name)) is not str:
                raise TypeError(f"shadow record {name} must be text, not "
                                f"{getattr(record, name)!r}")
        for name in ("kinds", "expected", "got"):
            value = getattr(record, name)
            if not isinstance(value, list | tuple) or any(type(v) is not str for v in value):
                raise TypeError(f"shadow record {name} must be a list of strings, not {value!r}")
        at = record.at
        if isinstance(at, bool) or not isinstance(at, int | float) or at - at != 0:
            raise ValueError(f"shadow record at must be a finite number, not {at!r}")
        rows.append(SHADOW_LOG.build(
            chart=record.chart, from_version=record.from_version, to_version=record.to_version,
            instance=record.instance, state=record.state, event=record.event,
            kinds=dumps(list(record.kinds)), expected=dumps(list(record.expected)),
            got=dumps(list(record.got)), at=float(at)))
    return rows


def check_shadow_page(chart: str, after: int, limit: int) -> None:
    """``shadow_records``' arguments, checked alike by every store."""
    if type(chart) is not str:
        raise TypeError(f"shadow_records chart= takes a chart name, not {chart!r}")
    if type(after) is not int or after < 0:
        raise ValueError(f"shadow_records after= takes a row id of 0 or more, not {after!r}")
    if type(limit) is not int or limit < 1:
        raise ValueError(f"shadow_records limit= takes an int of 1 or more, not {limit!r}")
