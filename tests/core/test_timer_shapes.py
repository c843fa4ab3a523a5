"""A snapshot's timers are checked field by field when it is read; a good one passes quietly."""

from __future__ import annotations

import math
from typing import Any

import pytest

from statekeeper.core.errors import SnapshotError
from statekeeper.core.snapshot import SNAPSHOT_FORMAT, Snapshot

GOOD: dict[str, Any] = {"due": 5.0, "event": {"name": "ring", "sendid": "ring", "data": None},
                        "target": None}


def _raw(timers: Any) -> dict[str, Any]:
    return {"format": SNAPSHOT_FORMAT, "chart": "c", "version": 1, "hash": "h", "session": "s",
            "configuration": ["a"], "data": {}, "history": {}, "timers": timers, "invokes": {},
            "done": False, "counter": 0, "parent": None}


@pytest.mark.parametrize("timer", [GOOD, {**GOOD, "due": 7}, {**GOOD, "late": "skip"},
                                   {**GOOD, "target": "#_parent"}])
def test_a_well_formed_timer_reads(timer: dict[str, Any]) -> None:
    assert Snapshot.from_dict(_raw({"t": timer})).timers == {"t": timer}


@pytest.mark.parametrize(("timer", "says"), [
    ({**GOOD, "due": "noon"}, "timers['t'].due is 'noon', not a time"),
    ({**GOOD, "due": math.inf}, "timers['t'].due is inf, not a time"),
    ({**GOOD, "due": True}, "timers['t'].due is True, not a time"),
    ({**GOOD, "event": {"name": 3}}, "timers['t'].event is {'name': 3}, not an event"),
    ({**GOOD, "event": {"name": "ring", "origin": 5}}, "timers['t'].event.origin is 5"),
    ({**GOOD, "target": 9}, "timers['t'].target is 9, not a target"),
    ({**GOOD, "late": "never"}, "timers['t'].late is 'never', not one of"),
    ("soon", "timers['t'] is 'soon', not a timer"),
])
def test_a_malformed_timer_is_named(timer: Any, says: str) -> None:
    with pytest.raises(SnapshotError, match="corrupted snapshot") as info:
        Snapshot.from_dict(_raw({"t": timer}))
    assert says in str(info.value)
