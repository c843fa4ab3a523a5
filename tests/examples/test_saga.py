"""The saga example: steps under retry, compensations in reverse order, all in the log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from statekeeper import VirtualClock
from statekeeper.client import Client
from statekeeper.examples.saga import START, World, main, run_saga


@pytest.fixture(params=["memory", "sqlite"])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Client]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'saga.db'}"
    with Client(url, clock=VirtualClock(START), worker=False) as made:
        yield made


def run(client: Client, world: World) -> str:
    assert isinstance(client.clock, VirtualClock)
    return run_saga(client, client.clock, world, "o-1")


def moves(client: Client) -> list[tuple[str, str]]:
    return [(r.event, "/".join(r.target)) for r in client.history("o-1")
            if r.source != r.target]


def test_a_failure_after_two_steps_compensates_in_reverse_order(client: Client) -> None:
    world = World(down=("ship",), flaky={"refund": 1})
    assert run(client, world) == "Compensated"
    assert [name for name, _ in world.calls] == [
        "reserve", "charge", "ship", "ship", "ship", "refund", "refund", "release"]
    assert moves(client) == [
        ("statekeeper.start", "Reserving"), ("done.effect.reserve", "Charging"),
        ("done.effect.charge", "Shipping"), ("error.effect.ship", "Refunding"),
        ("done.effect.refund", "Releasing"), ("done.effect.release", "Compensated")]
    refunds = {key for name, key in world.calls if name == "refund"}
    assert len(refunds) == 1, "the retried refund kept its idempotency key"
    rows = {e.name: (e.status, e.attempts) for e in client.store.effects("o-1")}
    assert rows == {"reserve": ("done", 1), "charge": ("done", 1), "ship": ("dead", 3),
                    "refund": ("done", 2), "release": ("done", 1)}
    [letter] = client.dead_letters("o-1")
    assert letter.payload["name"] == "ship" and len(letter.errors) == 3


def test_a_failed_charge_only_releases_the_reservation(client: Client) -> None:
    world = World(flaky={"charge": 0})
    world.down.add("charge")
    assert run(client, world) == "Compensated"
    assert [name for name, _ in world.calls] == [
        "reserve", "charge", "charge", "charge", "release"]


def test_the_happy_path_runs_each_step_once(client: Client) -> None:
    world = World(flaky={"ship": 1})
    assert run(client, world) == "Done"
    assert [name for name, _ in world.calls] == ["reserve", "charge", "ship", "ship"]
    assert client.dead_letters() == []


def test_the_example_runs_on_a_sqlite_file(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(tmp_path / "saga.db")]) == 0
    out = capsys.readouterr().out
    assert "error.effect.ship" in out and out.rstrip().endswith("o-1 ended Compensated")
