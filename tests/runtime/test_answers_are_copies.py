"""What a caller is handed is its own: changing it changes nothing stored or cached.

Regression: ``InstanceState.data`` was the engine's cached snapshot data itself, so a caller
that edited the state it got back changed the instance, and the next step (of any event) wrote
the edit to the database without a transition that made it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from statekeeper import Chart, State, Transition, VirtualClock
from statekeeper.client import AsyncClient, Client
from statekeeper.core.actions import Assign
from statekeeper.runtime.rows import snapshot_from_row
from statekeeper.runtime.state import copy_data

CART = Chart("cart", version=1, initial="open", states={
    "open": State(on={"touch": "open", "close": "closed"}),
    "closed": State(on={"touch": "closed"}),
})


def test_editing_an_answer_changes_nothing_stored(tmp_path: Path) -> None:
    with Client(f"sqlite:///{tmp_path / 'carts.db'}", clock=VirtualClock(),
                worker=False) as client:
        client.register(CART)
        started = client.start("cart", "c-1", data={"items": [{"sku": "a", "n": 1}], "tag": "x"})
        started.data["tag"] = "edited"
        started.data["items"][0]["n"] = 99
        touched = client.send("c-1", "touch")
        touched.data["items"].append({"sku": "b"})
        closed = client.send("c-1", "close")
        expected = {"items": [{"sku": "a", "n": 1}], "tag": "x"}
        assert closed.data == expected
        assert client.store.load("c-1").snapshot["data"] == expected
        assert snapshot_from_row(client.store.load("c-1")).data == expected
        assert client.get("c-1").data == expected


def test_async_answers_are_copies_too(tmp_path: Path) -> None:
    async def main() -> dict[str, object]:
        client = AsyncClient(f"sqlite:///{tmp_path / 'carts.db'}", worker=False)
        try:
            client.register(CART)
            state = await client.start("cart", "c-1", data={"n": [1]})
            state.data["n"].append(2)
            state = await client.send("c-1", "touch")
            state.data["n"] = None
            state = await client.send("c-1", "touch")
            return state.data
        finally:
            await client.close()

    assert asyncio.run(main()) == {"n": [1]}


def _keeping(client: Client) -> None:
    chart = Chart("keeper", version=1, initial="empty", states={
        "empty": State(on={"fill": Transition("full", actions=[Assign("cart", expr="payload")])}),
        "full": State(on={"touch": "full"}),
    })
    client.register(chart, functions={"payload": lambda data, event: event.data})


def test_a_callers_event_data_and_start_data_stay_its_own(tmp_path: Path) -> None:
    # Regression: the step kept a reference to the caller's dicts, so editing them after the
    # call changed the instance, and its next step wrote the edit.
    with Client(f"sqlite:///{tmp_path / 'keep.db'}", clock=VirtualClock(),
                worker=False) as client:
        _keeping(client)
        start = {"owner": {"name": "ann"}}
        client.start("keeper", "k-1", data=start)
        start["owner"]["name"] = "bob"
        payload = {"items": [1]}
        client.send("k-1", "fill", payload)
        payload["items"].append(2)
        state = client.send("k-1", "touch")
        assert state.data == {"owner": {"name": "ann"}, "cart": {"items": [1]}}
        assert client.store.load("k-1").snapshot["data"] == state.data


def test_a_watcher_and_the_caller_each_get_their_own_state(tmp_path: Path) -> None:
    """Regression: every watcher and the caller were handed the same InstanceState object."""
    with Client(f"sqlite:///{tmp_path / 'carts.db'}", worker=False) as client:
        client.register(CART)
        client.start("cart", "c-1", data={"items": [1]}, labels={"shop": "s"})
        seen: list[dict[str, object]] = []

        def meddler(state: object) -> None:
            state.data["items"].append("watcher")  # type: ignore[attr-defined]
            state.labels["shop"] = "watcher"  # type: ignore[attr-defined]

        def reader(state: object) -> None:
            seen.append({"data": state.data, "labels": state.labels})  # type: ignore[attr-defined]

        client._watchers.extend([meddler, reader])
        answer = client.send("c-1", "touch")
        assert (answer.data, answer.labels) == ({"items": [1]}, {"shop": "s"})
        assert seen == [{"data": {"items": [1]}, "labels": {"shop": "s"}}]
        answer.data["items"].append("caller")
        assert seen == [{"data": {"items": [1]}, "labels": {"shop": "s"}}]


def test_watch_iterators_get_copies(tmp_path: Path) -> None:
    with Client(f"sqlite:///{tmp_path / 'carts.db'}", worker=False) as client:
        client.register(CART)
        client.start("cart", "c-1", data={"n": [1]})
        with client.watch("c-1", timeout=5) as first, client.watch("c-1", timeout=5) as second:
            answer = client.send("c-1", "touch")
            answer.data["n"].append("caller")
            a, b = next(iter(first)), next(iter(second))
        a.data["n"].append("first")
        assert b.data == {"n": [1]} and a is not b


def test_dict_and_list_subclasses_in_data_are_copied(tmp_path: Path) -> None:
    """Regression: ``copy_data`` copied plain dicts and lists only and shared subclasses."""
    from collections import OrderedDict

    class Items(list):  # type: ignore[type-arg]
        pass

    with Client(f"sqlite:///{tmp_path / 'carts.db'}", worker=False) as client:
        client.register(CART)
        passed = OrderedDict(items=Items([{"sku": "a"}]))
        started = client.start("cart", "c-1", data={"order": passed})
        passed["items"].append("after start")
        started.data["order"]["items"][0]["sku"] = "edited"
        event_data = OrderedDict(note=Items(["n"]))
        touched = client.send("c-1", "touch", event_data)
        event_data["note"].append("after send")
        touched.data["order"]["items"].append("edited")
        expected = {"order": {"items": [{"sku": "a"}]}}
        assert client.send("c-1", "touch").data == expected
        assert client.get("c-1").data == expected
        assert type(started.data["order"]) is dict and type(started.data["order"]["items"]) is list


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=4),
    lambda inner: (st.lists(inner, max_size=4) | st.tuples(inner, inner)
                   | st.dictionaries(st.text(max_size=3), inner, max_size=4)),
    max_leaves=20)


def _containers(value: object) -> list[object]:
    found: list[object] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            found.append(item)
            stack.extend(item)
    return found


@settings(max_examples=300, deadline=None)
@given(_json)
def test_copy_data_is_equal_and_shares_no_container(value: object) -> None:
    """``copy_data`` skips calls for plain values (a leaf is returned as it is); still a copy."""
    copied = copy_data(value)
    assert copied == value
    originals = {id(c) for c in _containers(value) if not isinstance(c, tuple) or c}
    mutable = [c for c in _containers(copied) if isinstance(c, dict | list)]
    assert not any(id(c) in originals for c in mutable)
