"""Bounded fuzzing of the snapshot loader and of payloads (they run in CI).

Each property asserts "a named error or a valid result, and nothing stored changed":
* ``Snapshot.from_dict`` on random and mutated input returns a snapshot or raises
  ``SnapshotError``, never another exception;
* a payload of random JSON-ish values (NaN, non-string keys, lone surrogates, deep nesting,
  sets, bytes) is either accepted and round-trips exactly through a SQLite store, or refused
  with ``InvalidPayload``/``LimitExceeded`` while the stored instance stays as it was.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statekeeper import (
    Chart,
    InvalidPayload,
    LimitExceeded,
    Machine,
    Snapshot,
    SnapshotError,
    State,
    Transition,
    VirtualClock,
    compile_chart,
)
from statekeeper.client import Client

CART = compile_chart(Chart("cart", initial="open", states={
    "open": State(on={"add": Transition("open")}),
}))
VALID = Machine(CART, data={"n": 1}, session="s").snapshot.to_dict()

ANY = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4)
    | st.binary(max_size=3) | st.sampled_from(["\ud800", "a\udfff", float("nan")])
    | st.integers(4301, 4400).map(lambda digits: 10 ** digits),
    lambda children: st.lists(children, max_size=3) | st.tuples(children)
    | st.dictionaries(st.text(max_size=3) | st.integers() | st.none(), children, max_size=3)
    | st.frozensets(st.integers(), max_size=2),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(key=st.sampled_from(sorted(VALID)), value=ANY, drop=st.booleans())
def test_a_mutated_snapshot_loads_or_is_refused_by_name(key: str, value: Any, drop: bool) -> None:
    raw = dict(VALID)
    if drop:
        del raw[key]
    else:
        raw[key] = value
    try:
        snap = Snapshot.from_dict(raw)
    except SnapshotError:
        return
    assert isinstance(snap, Snapshot)


@settings(max_examples=100, deadline=None)
@given(raw=ANY)
def test_any_value_loads_as_a_snapshot_or_is_refused_by_name(raw: Any) -> None:
    try:
        snap = Snapshot.from_dict(raw)
    except SnapshotError:
        return
    assert isinstance(snap, Snapshot)


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=200) | st.just(json.dumps(VALID)).map(lambda t: t[: len(t) // 2]))
def test_json_text_loads_or_is_refused_by_name(text: str) -> None:
    try:
        raw = json.loads(text)
    except ValueError:
        return  # not JSON at all: the caller's json module says so
    try:
        snap = Snapshot.from_dict(raw)
    except SnapshotError:
        return
    assert isinstance(snap, Snapshot)


def _deep(levels: int) -> Any:
    value: Any = 0
    for _ in range(levels):
        value = {"d": value}
    return value


PAYLOADS = ANY | st.integers(90, 130).map(_deep)


@pytest.mark.slow
def test_payloads_are_stored_exactly_or_refused_and_nothing_changes(tmp_path: Path) -> None:
    with Client(f"sqlite:///{tmp_path / 'f.db'}", clock=VirtualClock(), worker=False) as client:
        client.register(CART)
        client.start("cart", "c-1", data={"n": 1})

        @settings(max_examples=120, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(payload=PAYLOADS)
        def check(payload: Any) -> None:
            before = client.store.load("c-1")
            machine = Machine(CART)
            try:
                machine.send("add", payload)
            except (InvalidPayload, LimitExceeded):
                refused = True
            else:
                refused = False
            try:
                client.send("c-1", "add", payload)
            except (InvalidPayload, LimitExceeded):
                assert refused  # the same rule at every entry
                after = client.store.load("c-1")
                assert (after.snapshot, after.rev) == (before.snapshot, before.rev)
                return
            assert not refused
            stored = client.history("c-1")[-1].data
            assert stored == json.loads(json.dumps(payload))  # exactly, tuples as lists
            assert json.dumps(stored, allow_nan=False)  # standard JSON

        check()
