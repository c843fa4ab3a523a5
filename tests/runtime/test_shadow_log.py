"""Shadow comparisons kept in the store: one report for every process (runtime/shadow_log.py).

Two clients (two processes' worth: their own engines) shadow the same chart on one store;
each compares what its callers send, and the report read back from the store counts both,
the divergences named with their instance ids.  Only committed steps are kept: a step
planned again after a conflict is compared twice in its process and stored once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from statekeeper import Assign, Chart, EventNotAccepted, Migration, State, Transition
from statekeeper.client import AsyncClient, Client
from statekeeper.client.errors import ArgumentTypeError, InvalidArgument
from statekeeper.storage import open_store
from statekeeper.storage.base import Store


def lamp(version: int) -> Chart:
    flip: object = "on"
    if version == 2:  # the planted divergence: from "off", v2 counts its flips
        flip = Transition("on", actions=[Assign("flips", value=1)])
    return Chart("lamp", version=version, initial="off", data={"flips": 0}, states={
        "off": State(on={"flip": flip}), "on": State(on={"flip": "off"})})


def shadowed(client: Client) -> Client:
    client.register(lamp(1))
    client.register(lamp(2))
    client.register_migration(Migration("lamp", 1, 2))
    client.shadow("lamp", 1, 2)
    return client


@pytest.fixture
def shared(store_url: str) -> Iterator[Store | str]:
    """What two clients open to share one store: the memory store is one object."""
    if store_url != "memory://":
        yield store_url
        return
    store = open_store(store_url)
    store.migrate()
    yield store
    store.close()


def table(report: str) -> list[list[str]]:
    return [line.split()[:4] for line in report.splitlines()[2:]
            if line and not line.startswith(("latest", "  "))]


def test_the_report_counts_every_process_and_names_the_instances(shared: Store | str) -> None:
    with shadowed(Client(shared, worker=False)) as one, \
            shadowed(Client(shared, worker=False)) as two:
        for client, iid in ((one, "hall"), (two, "porch"), (two, "attic")):
            client.start("lamp", iid, version=1)
            client.send(iid, "flip")  # off -> on: v2 would count (data diverges)
            client.send(iid, "flip")  # on -> off: the same
        with pytest.raises(EventNotAccepted):
            one.send("hall", "smash")  # rejected by both: compared, not diverged
        assert table(one.registry.shadows[("lamp", "1")].report()) == [
            ["off", "flip", "1", "1"], ["off", "smash", "1", "0"], ["on", "flip", "1", "0"]]
        two.engine.flush()  # its last group's comparisons are written after its answers
        report = one.shadow_report("lamp", latest=2)
    lines = report.splitlines()
    assert lines[0] == "shadow of 'lamp' v1 on v2"
    assert table(report) == [["off", "flip", "3", "3"], ["off", "smash", "1", "0"],
                             ["on", "flip", "3", "0"]]
    assert lines[2].split()[4:] == ["data", "3"]
    assert lines[-3] == "latest 2 divergence(s):"
    assert [line.split()[0] for line in lines[-2:]] == ["porch", "attic"]
    assert "off on 'flip': data (expected ['on'], got ['on'])" in lines[-1]


def test_a_step_planned_again_after_a_conflict_is_stored_once(shared: Store | str,
                                                              store_url: str) -> None:
    with shadowed(Client(shared, worker=False)) as one, \
            shadowed(Client(shared, worker=False)) as two:
        one.start("lamp", "hall", version=1)
        one.send("hall", "flip")  # one's engine holds hall at its rev
        two.send("hall", "flip")  # two moves it on: one's next commit loses its rev check
        one.send("hall", "flip")  # compared on "on" (lost), then on "off" (committed)
        assert one.get("hall").state == "on"
        compared = one.registry.shadows[("lamp", "1")].compared
        assert compared[("off", "flip")] == 2
        # the lost plan (unless a dropped connection made one's engine read hall afresh,
        # which only a server under load does)
        assert compared[("on", "flip")] == 1 or store_url.startswith("postgresql")
        two.engine.flush()
        report = one.shadow_report("lamp")
    # one's two committed flips from "off", two's from "on"; not one's lost one from "on"
    assert table(report) == [["off", "flip", "2", "2"], ["on", "flip", "1", "0"]]


def test_nothing_compared_clear_and_bad_arguments(client: Client) -> None:
    assert client.shadow_report("lamp") == "no shadow of 'lamp' has compared a committed step"
    shadowed(client)
    client.start("lamp", "hall", version=1)
    client.send("hall", "flip")
    assert table(client.shadow_report("lamp")) == [["off", "flip", "1", "1"]]
    assert "latest" not in client.shadow_report("lamp", latest=0)
    with pytest.raises(ArgumentTypeError):
        client.shadow_report(7)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        client.shadow_report("lamp", latest=-1)
    assert client.clear_shadow_log("lamp") == 1
    assert client.shadow_report("lamp").startswith("no shadow")


def test_async_client_reads_the_stored_report(store_url: str) -> None:
    async def main() -> None:
        async with AsyncClient(store_url, worker=False) as client:
            client.register(lamp(1))
            client.register(lamp(2))
            client.register_migration(Migration("lamp", 1, 2))
            client.shadow("lamp", 1, 2)
            await client.start("lamp", "hall", version=1)
            await client.send("hall", "flip")
            assert table(await client.shadow_report("lamp")) == [["off", "flip", "1", "1"]]
            assert await client.clear_shadow_log("lamp") == 1

    asyncio.run(main())
