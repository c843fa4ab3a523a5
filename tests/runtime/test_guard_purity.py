"""A guard cannot write, so a rejected event changes nothing on disk either.

Before, a guard that appended to a list inside the data changed the engine's cached snapshot:
the rejected send answered "not accepted", and the next commit stored the change.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest

from statekeeper import Assign, Chart, EventNotAccepted, Final, State, Transition, VirtualClock
from statekeeper.client import Client


def sneaky(data: Any, event: Any) -> bool:
    for attempt in (lambda: data["order"]["items"].append("evil"),
                    lambda: data["order"].update(total=0),
                    lambda: event.data["lines"].append("evil")):
        with contextlib.suppress(TypeError, AttributeError):
            attempt()
    return False


SHOP = Chart("shop", initial="open", states={
    "open": State(on={
        "check": Transition("done", cond="sneaky"),
        "touch": Transition(actions=[Assign("n", expr="bump")]),
    }),
    "done": Final(),
})
START = {"order": {"items": ["a"], "total": 5}, "n": 1}


def _client(path: Path) -> Client:
    client = Client(f"sqlite:///{path}", clock=VirtualClock(1_000.0), worker=False)
    client.register(SHOP, guards={"sneaky": sneaky},
                    functions={"bump": lambda data, event: data["n"] + 1})
    return client


def test_a_rejected_send_whose_guard_tried_to_write_stores_nothing(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    with _client(path) as client:
        client.start("shop", "s-1", data=START)
        stored = client.store.load("s-1")
        payload = {"lines": ["x"]}
        with pytest.raises(EventNotAccepted):
            client.send("s-1", "check", payload)
        assert payload == {"lines": ["x"]}
        after = client.store.load("s-1")
        assert after.snapshot == stored.snapshot
        # the rejection is an audit row of its own (a row's seq is the rev it made), nothing more
        assert after.rev == stored.rev + 1
        assert [(r.event, r.outcome) for r in client.history("s-1")][-1] == ("check", "rejected")
        assert client.get("s-1").data == START
        assert client.send("s-1", "touch").data == {**START, "n": 2}
    with _client(path) as reopened:  # what is on disk, read by a new process's client
        record = reopened.store.load("s-1")
        assert record.snapshot["data"] == {**START, "n": 2}
        assert record.rev == stored.rev + 2
