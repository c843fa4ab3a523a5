"""The snapshot row's text that ``frozen_row`` puts together is the encoder's, exactly.

A plain running instance's row (no history, timer, invocation or parent) gets its JSON text
from the data's text and constant parts, without the encoder.  Whatever the snapshot, that
text must be what ``dumps_exact`` of the row writes, key for key; a row it cannot assemble
(other parts, data JSON cannot hold) is left to the encoder, which refuses bad data as before.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statekeeper.core.snapshot import Snapshot
from statekeeper.runtime.rows import frozen_row, snapshot_to_row
from statekeeper.storage._codec import encode_commit
from statekeeper.storage._json import dumps_exact
from statekeeper.storage.records import Commit, FrozenDict, InstanceRecord

_leaves = (st.none() | st.booleans() | st.integers() | st.text(max_size=4)
           | st.floats(allow_nan=True, allow_infinity=True))
_data = st.dictionaries(
    st.text(max_size=3) | st.integers(-2, 2),
    st.recursive(_leaves, lambda inner: st.lists(inner, max_size=3)
                 | st.dictionaries(st.text(max_size=2) | st.integers(0, 1), inner, max_size=2),
                 max_leaves=6),
    max_size=4)
_snapshots = st.builds(
    Snapshot, chart=st.just("c"), hash=st.just("h"), session=st.just("i"),
    version=st.text(max_size=3) | st.integers(-2, 2) | st.booleans(),
    configuration=st.just(("a",)), data=_data,
    history=st.sampled_from([{}, {"h": ("a",)}]),
    timers=st.sampled_from([{}, {"t": {"due": 1.5}}]),
    invokes=st.sampled_from([{}, {"v": {"state": "a"}}]),
    done=st.booleans(), done_data=st.sampled_from([None, 0, {"x": 1}]),
    counter=st.integers(0, 10**20) | st.booleans(), parent=st.sampled_from([None, "p"]))
#: the rows frozen_row assembles: only the version, the data and the counter vary
_plain = st.builds(
    Snapshot, chart=st.just("c"), hash=st.just("h"), session=st.just("i"),
    version=st.text(max_size=3) | st.integers(-2, 2), configuration=st.just(("a",)),
    data=_data, counter=st.integers(0, 10**20))


def _encodable(value: Any) -> bool:
    try:
        dumps_exact(value)
    except (TypeError, ValueError):
        return False
    return True


@given(snapshot=_plain | _snapshots)
def test_the_assembled_text_is_the_encoders(snapshot: Snapshot) -> None:
    row = frozen_row(snapshot)
    assert type(row) is FrozenDict and row == snapshot_to_row(snapshot)
    assert list(row) == list(snapshot_to_row(snapshot))  # the same order, so the same text
    plain = (not snapshot.history and not snapshot.timers and not snapshot.invokes
             and snapshot.done is False and snapshot.done_data is None
             and snapshot.parent is None and type(snapshot.counter) is int)
    if row.text is not None:
        assert plain and row.text == dumps_exact(snapshot_to_row(snapshot))
    else:  # only a row of other parts, or one that cannot be stored, is left to the encoder
        assert not plain or not _encodable(snapshot_to_row(snapshot))


def test_a_plain_row_is_written_as_the_encoder_writes_it() -> None:
    snapshot = Snapshot(chart="c", version="2", hash="h", session="i", configuration=("a",),
                        data={"n": 1, "é": ["x", {"y": None}]}, counter=3)
    row = frozen_row(snapshot)
    assert row.text == dumps_exact(snapshot_to_row(snapshot))
    record = InstanceRecord(id="i", chart="c", version="2", hash="h", snapshot=row,
                            configuration=("a",))
    again = InstanceRecord(id="i", chart="c", version="2", hash="h",
                           snapshot=snapshot_to_row(snapshot), configuration=("a",))
    assert encode_commit(Commit(record, None)).instance == \
        encode_commit(Commit(again, None)).instance


@pytest.mark.parametrize("data", [{"n": {1: "one"}}, {"n": float("nan")}, {"s": {1, 2}},
                                  {"t": "\ud800"}])
def test_data_that_cannot_be_stored_is_left_to_the_encoder(data: dict[str, Any]) -> None:
    row = frozen_row(Snapshot(chart="c", version="1", hash="h", session="i",
                              configuration=("a",), data=data))
    assert row.text is None
    record = InstanceRecord(id="i", chart="c", version="1", hash="h", snapshot=row,
                            configuration=("a",))
    with pytest.raises(ValueError, match=r"nothing was stored|cannot be stored|not a string"):
        encode_commit(Commit(record, None))
    assert row.text is None
