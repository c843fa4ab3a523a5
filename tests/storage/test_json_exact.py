"""``dumps_exact``: JSON that reads back as the same value, or a refusal; and the snapshot text.

The key walk skips leaves and empty containers (a snapshot row holds several); whatever it
skips, a key that is not a string anywhere must still be refused, and values of subclasses of
the plain types (an ``IntEnum``, a ``str`` subclass) must still pass.
"""

from __future__ import annotations

import enum
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statekeeper.core.snapshot import Snapshot
from statekeeper.runtime.rows import frozen_row, snapshot_to_row
from statekeeper.storage._codec import encode_commit
from statekeeper.storage._json import dumps, dumps_exact, loads
from statekeeper.storage.records import Commit, FrozenDict, InstanceRecord

_keys = st.text(max_size=3) | st.integers(-3, 3) | st.booleans() | st.none()
_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
    | st.dictionaries(_keys, inner, max_size=3),
    max_leaves=12)


def _has_other_key(value: Any) -> bool:
    if isinstance(value, dict):
        return any(not isinstance(k, str) or _has_other_key(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_other_key(v) for v in value)
    return False


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@given(value=_values)
def test_refused_exactly_when_some_key_is_not_a_string(value: Any) -> None:
    if _has_other_key(value):
        with pytest.raises(TypeError, match="is not a string"):
            dumps_exact(value)
    else:
        assert loads(dumps_exact(value)) == _plain(value)


@pytest.mark.parametrize("value", [
    {"a": {}, "b": [], "c": {"d": {}, "e": [{}, [], {1: 2}]}},
    [{}, (), [[], {"x": [{}, {None: 1}]}]],
])
def test_a_bad_key_behind_empty_containers_is_found(value: Any) -> None:
    with pytest.raises(TypeError, match="is not a string"):
        dumps_exact(value)


class Level(enum.IntEnum):
    LOW = 0
    HIGH = 2


class Name(str):
    pass


def test_values_of_subclasses_of_plain_types_pass() -> None:
    value = {"level": Level.LOW, "levels": [Level.HIGH, Level.LOW], "name": Name("n"),
             Name("k"): {"empty": {}, "zero": 0}}
    assert json.loads(dumps_exact(value)) == {"level": 0, "levels": [2, 0], "name": "n",
                                              "k": {"empty": {}, "zero": 0}}


def _snapshot(data: dict[str, Any]) -> Snapshot:
    return Snapshot(chart="c", version="1", hash="h", session="i", configuration=("a",),
                    data=data, timers={"t": {"due": 1.5, "event": {"name": "x"}}})


def test_a_frozen_row_is_the_row_and_is_encoded_once() -> None:
    snapshot = _snapshot({"n": 1})
    row = frozen_row(snapshot)
    assert type(row) is FrozenDict and row == snapshot_to_row(snapshot) and row.text is None
    record = InstanceRecord(id="i", chart="c", version="1", hash="h", snapshot=row,
                            configuration=("a",))
    encode_commit(Commit(record, None))
    assert row.text == dumps(row)
    assert encode_commit(Commit(record, None)).instance[4] is row.text  # reused, not redone


def test_a_frozen_row_with_a_bad_key_is_refused_not_cached() -> None:
    row = frozen_row(_snapshot({"n": {1: "one"}}))
    record = InstanceRecord(id="i", chart="c", version="1", hash="h", snapshot=row,
                            configuration=("a",))
    with pytest.raises(ValueError, match=r"cannot be stored|not a string"):
        encode_commit(Commit(record, None))
    assert row.text is None
