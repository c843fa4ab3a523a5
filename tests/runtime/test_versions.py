"""Versions side by side, on every store: each instance stays on the version it started on."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from statekeeper import Chart, ChartError, State, VersionConflict, VirtualClock
from statekeeper.client import AsyncClient, Client
from statekeeper.client.errors import ArgumentTypeError
from statekeeper.runtime.registry import UnknownChart


def lamp(version: int, *, extra: bool = False) -> Chart:
    states: dict[str, Any] = {"off": State(on={"flip": "on"}), "on": State(on={"flip": "off"})}
    if version >= 2:
        states["on"] = State(on={"flip": "off", "dim": "dimmed"})
        states["dimmed"] = State(on={"flip": "off"})
    if extra:
        states["broken"] = State(on={"fix": "off"})
        states["off"] = State(on={"flip": "on", "smash": "broken"})
    return Chart("lamp", version=version, initial="off", states=states)


def test_several_versions_run_at_once_and_instances_stay_on_theirs(client: Client) -> None:
    client.register(lamp(1))
    assert client.start("lamp", "a").version == "1"
    client.register(lamp(2))
    assert client.start("lamp", "b").version == "2"  # the newest, unless named
    assert client.start("lamp", "c", version=1).version == "1"
    for iid in ("a", "b", "c"):
        client.send(iid, "flip")
    assert client.send("b", "dim").state == "dimmed"
    with pytest.raises(Exception, match="not accepted"):
        client.send("a", "dim")  # v1 has no dim: a is still on v1
    assert [client.get(i).version for i in ("a", "b", "c")] == ["1", "2", "1"]
    assert [r.chart_version for r in client.history("c")] == ["1", "1"]


def test_registering_another_structure_under_a_known_version_is_refused(
        client: Client) -> None:
    client.register(lamp(1))
    with pytest.raises(VersionConflict, match=r"'lamp' v1 is already registered") as caught:
        client.register(lamp(1, extra=True))
    assert isinstance(caught.value, ChartError)  # what callers caught before it had a name
    assert (caught.value.chart, caught.value.version) == ("lamp", "1")
    client.register(lamp(1))  # the same structure again is fine


def test_a_start_naming_an_unregistered_version_writes_nothing(client: Client) -> None:
    client.register(lamp(1))
    with pytest.raises(UnknownChart, match=r"version 7 is not registered.*registered: 1"):
        client.start("lamp", "x", version=7)
    with pytest.raises(ArgumentTypeError, match="version="):
        client.start("lamp", "x", version=1.5)  # type: ignore[arg-type]
    assert client.query(chart="lamp") == []


def test_the_async_client_starts_a_named_version(store_url: str, clock: VirtualClock) -> None:
    async def main() -> list[str]:
        async with AsyncClient(store_url, clock=clock, worker=False) as client:
            client.register(lamp(1))
            client.register(lamp(2))
            one = await client.start("lamp", "a", version=1)
            two = await client.start("lamp", "b")
            return [one.version, two.version]

    assert asyncio.run(main()) == ["1", "2"]
