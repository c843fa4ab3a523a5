"""Claimed effects: their functions are found together, in the thread that claims them.

Each effect runs on a short-lived thread of its own.  Before this, every one of those threads
read its instance to find the effect's function, and with a connection per thread that meant
opening a SQLite connection per effect: 20,000 effects ran at about 740 per second.  Now the
claiming thread reads the instances of everything it claimed in one read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from order_chart import ORDER

from statekeeper import Chart, State, VirtualClock
from statekeeper.client import Client


def test_claimed_effects_read_their_instances_in_one_read(
        client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    charged: list[str] = []
    client.register(ORDER, effects={"charge": lambda args, key: charged.append(key)})
    for n in range(5):
        client.start("order", f"o-{n}")
        client.send(f"o-{n}", "accept")
    loads: list[Any] = []
    many: list[list[str]] = []
    real_many = client.store.load_many
    monkeypatch.setattr(client.store, "load", lambda iid: loads.append(iid))
    monkeypatch.setattr(client.store, "load_many",
                        lambda ids: many.append(list(ids)) or real_many(ids))
    client.worker.run_due()
    monkeypatch.undo()
    assert sorted(charged) == [f"o-{n}:1:charge" for n in range(5)]
    assert loads == [] and [sorted(ids) for ids in many][:1] == [[f"o-{n}" for n in range(5)]]
    assert {client.get(f"o-{n}").state for n in range(5)} == {"paid"}


def test_an_effect_of_a_chart_this_worker_does_not_know_waits(tmp_path: Path) -> None:
    url, clock = f"sqlite:///{tmp_path / 'orders.db'}", VirtualClock()
    with Client(url, clock=clock, worker=False) as owner:
        owner.register(ORDER, effects={"charge": lambda args, key: None})
        owner.start("order", "o-1")
        owner.send("o-1", "accept")
    with Client(url, clock=clock, worker=False) as other:
        other.register(Chart("door", initial="shut", states={"shut": State(on={"open": "shut"})}))
        other.worker.run_due()
        (effect,) = other.store.effects("o-1")
        assert (effect.status, effect.attempts) == ("pending", 0)  # given back, not counted
        assert other.get("o-1").state == "charging"
