"""Rollout by flag (issue 18, item 6): a sticky share of new instances on the new version."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statekeeper import Chart, State
from statekeeper.client import Client
from statekeeper.runtime.registry import Registry, UnknownChart, rollout_bucket
from statekeeper.testing.strategies import suite_settings


def lamp(version: int) -> Chart:
    return Chart("lamp", version=version, initial="off", states={
        "off": State(on={"flip": "on"}), "on": State(on={"flip": "off"})})


def test_a_share_of_new_instances_starts_on_the_new_version(client: Client) -> None:
    client.register(lamp(1))
    client.register(lamp(2))
    client.rollout("lamp", 2, 25)  # the rest on v1, the newest other version
    ids = [f"l-{n:03d}" for n in range(200)]
    started = {i: client.start("lamp", i).version for i in ids}
    expected = {i: "2" if rollout_bucket("lamp", i) < 25 else "1" for i in ids}
    assert started == expected
    assert 30 <= sum(v == "2" for v in started.values()) <= 70  # about a quarter of 200
    # the split shows in queries, and a start naming a version wins
    page = client.query(chart="lamp", limit=200)
    assert {s.id: s.version for s in page} == started
    assert client.start("lamp", "pinned", version=1).version == "1"


def test_the_same_id_lands_on_the_same_side_in_another_registry() -> None:
    one, two = Registry(), Registry()
    for registry in (one, two):
        registry.register(lamp(1))
        registry.register(lamp(2))
        registry.rollout("lamp", 2, 40)
    assert [one.start_version("lamp", f"x{n}") for n in range(50)] == [
        two.start_version("lamp", f"x{n}") for n in range(50)]


@suite_settings()
@given(st.text(min_size=1, max_size=20), st.floats(0, 100), st.floats(0, 100))
def test_raising_the_share_only_moves_ids_to_the_new_side(iid: str, low: float,
                                                          high: float) -> None:
    low, high = sorted((low, high))
    registry = Registry()
    registry.register(lamp(1))
    registry.register(lamp(2))
    registry.rollout("lamp", 2, low)
    before = registry.start_version("lamp", iid)
    registry.rollout("lamp", 2, high)
    assert before == "1" or registry.start_version("lamp", iid) == "2"


def test_bad_rollouts_are_refused() -> None:
    registry = Registry()
    registry.register(lamp(1))
    with pytest.raises(UnknownChart, match="needs another registered version"):
        registry.rollout("lamp", 1, 50)
    with pytest.raises(UnknownChart):
        registry.rollout("lamp", 3, 50)
    registry.register(lamp(2))
    with pytest.raises(ValueError, match="from 0 to 100"):
        registry.rollout("lamp", 2, 101)
    registry.rollout("lamp", 2, 0)
    assert registry.start_version("lamp", "any") == "1"
