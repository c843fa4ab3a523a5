"""The common step's short path writes exactly the rows the general path does."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statekeeper import UnstorableValue
from statekeeper.storage import Commit, InstanceRecord, MailboxRecord, TransitionRecord
from statekeeper.storage._codec import EncodedCommit, encode_commit

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                 max_size=3),
    max_leaves=8)


def _commit(data: Any, labels: dict[str, str], rev: int | None, steps: int) -> Commit:
    instance = InstanceRecord(id="o-1", chart="order", version="1", hash="h",
                              snapshot={"data": data}, configuration=("a", "b"), labels=labels,
                              created_at=1.0, updated_at=2.0)
    rows = [TransitionRecord("o-1", (rev or 0) + 1 + n, "go", ("a",), ("b",), "1", "applied",
                             2.0, data, microsteps=[{"event": "go"}]) for n in range(steps)]
    return Commit(instance, rev, rows)


@given(data=json_values, labels=st.dictionaries(st.text(max_size=3), st.text(max_size=3)),
       rev=st.none() | st.integers(1, 100), steps=st.integers(0, 2))
def test_the_common_path_equals_the_general_one(data: Any, labels: dict[str, str],
                                                rev: int | None, steps: int) -> None:
    plain = encode_commit(_commit(data, labels, rev, steps))
    other = _commit(data, labels, rev, steps)
    other.mailbox = MailboxRecord("o-1", "k", "go", {}, 2.0)  # takes the general path
    general = encode_commit(other)
    assert general.mailbox is not None
    assert plain.plain and not general.plain
    assert _rows(plain) == _rows(replace(general, mailbox=None))


def _rows(encoded: EncodedCommit) -> dict[str, Any]:
    """Every row of ``encoded`` (an empty tuple and an empty list alike)."""
    return {f.name: list(v) if isinstance(v, list | tuple) and f.name != "instance" else v
            for f in fields(encoded) if f.name not in ("commit", "plain")
            for v in [getattr(encoded, f.name)]}


def test_the_short_path_knows_every_kind_of_row() -> None:
    # encode_commit takes its short path when a commit has no rows but its instance's and its
    # transitions; a new field of Commit must be added to that test, or it would be dropped.
    assert [f.name for f in fields(Commit)] == [
        "instance", "expected_rev", "transitions", "effects", "timers_set", "timers_cancelled",
        "timer_fired", "effect_finished", "mailbox", "dead_letters", "effect_released",
        "effects_reopened", "dead_letters_deleted"]
    assert len(fields(EncodedCommit)) == 15  # the short path builds one positionally


def test_other_rows_take_the_general_path() -> None:
    commit = _commit({"n": 1}, {}, 1, 1)
    commit.mailbox = MailboxRecord("o-1", "k", "go", {"ok": True}, 2.0)
    assert encode_commit(commit).mailbox == ("o-1", "k", "go", '{"ok":true}', 2.0)


@pytest.mark.parametrize("bad", [{1, 2}, object()])
def test_values_json_cannot_hold_are_refused_on_both_paths(bad: Any) -> None:
    commit = _commit({"n": 1}, {}, 1, 1)
    commit.instance = replace(commit.instance, snapshot={"data": bad})
    # a public error naming where the value is (a ValueError still, as the engine expects)
    with pytest.raises(UnstorableValue, match=r"^instance 'o-1' \$\.data: ") as caught:
        encode_commit(commit)
    assert isinstance(caught.value, ValueError)
    commit.mailbox = MailboxRecord("o-1", "k", "go", {}, 2.0)
    with pytest.raises(UnstorableValue, match=r"^instance 'o-1' \$\.data: "):
        encode_commit(commit)


def test_a_refused_row_is_named_not_called_unstorable() -> None:
    """The checks inside the encoder's JSON guard keep their own reason (a wrong transition
    or a foreign effect row), not the guard's 'cannot be stored as JSON'."""
    commit = _commit({"n": 1}, {}, 1, 1)
    commit.transitions = [replace(commit.transitions[0], outcome="maybe")]  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"malformed commit: transition 2 of 'o-1' \(outcome "
                                         r"'maybe'\)") as plain:
        encode_commit(commit)
    commit = _commit({"n": 1}, {}, 1, 1)
    commit.mailbox = MailboxRecord("o-2", "k", "go", {}, 2.0)
    with pytest.raises(ValueError, match="a mailbox row of 'o-2' in a commit of 'o-1'") as other:
        encode_commit(commit)
    for refused in (plain, other):
        assert "JSON" not in str(refused.value)
