"""The hot path's positional constructors make the very records the classes' own __init__ does."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statekeeper.core._records import positional_constructor
from statekeeper.core.snapshot import Snapshot
from statekeeper.runtime.state import InstanceState
from statekeeper.storage.records import InstanceRecord, TransitionRecord

names = st.text(min_size=1, max_size=8)
configurations = st.lists(names, min_size=1, max_size=3).map(tuple)


@given(id_=names, configuration=configurations, rev=st.integers(0, 10**6),
       data=st.dictionaries(names, st.integers()), outcome=st.none() | names,
       at=st.floats(allow_nan=False))
def test_records_equal_those_made_by_init(id_: str, configuration: tuple[str, ...], rev: int,
                                          data: dict[str, Any], outcome: str | None,
                                          at: float) -> None:
    for cls, values in (
        (InstanceState, (id_, "c", "1", configuration, data, "active", rev, {}, outcome, at)),
        (InstanceRecord, (id_, "c", "1", "h", {"data": data}, configuration, "done", rev, {},
                          at, at, at)),
        (TransitionRecord, (id_, rev + 1, "go", configuration, configuration, "1", "applied",
                            at, data, None, "t", None, "k", [], None)),
        (Snapshot, ("c", 1, "h", id_, configuration, data, {}, {}, {}, False, None, rev, None)),
    ):
        made, usual = positional_constructor(cls)(*values), cls(*values)
        assert made == usual and type(made) is cls
        assert dataclasses.astuple(made) == dataclasses.astuple(usual)
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(made, dataclasses.fields(cls)[0].name, "changed")


def test_hashable_and_frozen_like_the_class() -> None:
    new = positional_constructor(InstanceState)
    a = new("i", "c", "1", ("s",), {}, "active", 1, {}, None, 0.0)
    assert a == InstanceState("i", "c", "1", ("s",), {}, "active", 1)
    assert "InstanceState" in new.__name__ and "configuration" in (new.__doc__ or "")


def test_every_field_is_required_and_positional() -> None:
    new = positional_constructor(InstanceState)
    with pytest.raises(TypeError):
        new("i", "c", "1", ("s",), {}, "active", 1)  # the defaults are not defaults here
    with pytest.raises(TypeError):
        new(id="i")


@dataclass(frozen=True)
class NoSlots:
    a: int


@dataclass(frozen=True, slots=True)
class Checked:
    a: int

    def __post_init__(self) -> None:
        if self.a < 0:
            raise ValueError("negative")


@dataclass(slots=True)
class Derived:
    a: int
    b: int = field(init=False, default=0)


@pytest.mark.parametrize(("cls", "why"), [
    (NoSlots, "not a slotted dataclass"),
    (int, "not a slotted dataclass"),
    (Checked, "__post_init__"),
    (Derived, "not __init__ arguments"),
])
def test_classes_it_would_get_wrong_are_refused(cls: type, why: str) -> None:
    with pytest.raises(TypeError, match=why):
        positional_constructor(cls)


@dataclass(frozen=True, slots=True)
class Base:
    a: int


@dataclass(frozen=True, slots=True)
class Inherited(Base):
    b: str


def test_a_class_with_inherited_slots_is_made_alike() -> None:
    """Inherited slots cannot be twinned: the descriptor path makes the same record."""
    made = positional_constructor(Inherited)(1, "x")
    assert made == Inherited(1, "x") and type(made) is Inherited and hash(made) == hash(Inherited(1, "x"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.a = 2  # type: ignore[misc]


def test_records_made_fast_are_independent_instances() -> None:
    new = positional_constructor(TransitionRecord)
    one = new("i", 1, "go", ("a",), ("b",), "1", "applied", 0.0, None, None, None, None, None, [], None)
    two = new("j", 2, "go", ("a",), ("b",), "1", "applied", 0.0, None, None, None, None, None, [], None)
    assert (one.instance, one.seq, two.instance, two.seq) == ("i", 1, "j", 2)
    assert type(one).__slots__ == TransitionRecord.__slots__


@dataclass(slots=True)
class Mutable:
    a: int
    b: list[int]


def test_a_mutable_class_is_made_alike_and_stays_mutable() -> None:
    """A class that is not frozen gets direct stores: the same record, still assignable."""
    from statekeeper.storage import Commit, InstanceRecord

    made = positional_constructor(Mutable)(1, [2])
    assert made == Mutable(1, [2]) and type(made) is Mutable
    made.a = 3
    assert made.a == 3
    record = InstanceRecord("i", "c", "1", "h", {}, ("s",), "active", 1, {}, 0.0, 0.0)
    values = [getattr(Commit(record, 1), f.name) for f in dataclasses.fields(Commit)]
    commit = positional_constructor(Commit)(*values)
    assert commit == Commit(record, 1) and type(commit) is Commit


def test_the_hot_paths_know_the_fields_they_fill_positionally() -> None:
    """The client's delivery and the planner's plan are built positionally: a field added or
    moved must be added or moved there too (a count mismatch fails loudly, a swap would not)."""
    from statekeeper.runtime.planner import Plan
    from statekeeper.runtime.requests import DeliverEvent

    assert [f.name for f in dataclasses.fields(DeliverEvent)] == [
        "instance", "event", "strict", "idempotency_key", "actor", "trace_id", "timer_id",
        "lateness", "effect_finish", "effect_release", "dead_letters", "future", "timer_due",
        "conflicts", "chained", "fingerprint", "principal", "authorize", "traceparent"]
    assert [f.name for f in dataclasses.fields(Plan)] == [
        "commit", "state", "snapshot", "error", "logs", "wake_effects", "next_timer",
        "unsettled", "since", "migration"]
