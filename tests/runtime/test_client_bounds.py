"""Numbers and names a client takes are bounded before they reach the store.

A second probe of issue 15 found ``query(limit=10**30)`` and ``history(after=10**30)`` failing
with a raw ``OverflowError`` from SQLite, ``query(after=5)`` and ``query(labels={"a": 1})``
with a bare ``TypeError`` from the store, and ids, event names, idempotency keys, actors,
trace ids and labels of any length stored (a megabyte each, repeated in every log row).
Now each is refused by both clients, naming the method and the argument, storing nothing:
names longer than ``Limits.max_name_length`` with ``LimitExceeded``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from statekeeper import (
    ArgumentTypeError,
    Chart,
    InvalidArgument,
    LimitExceeded,
    Limits,
    State,
)
from statekeeper.client import AsyncClient, Client

LAMP = Chart("lamp", version=1, initial="off", states={
    "off": State(on={"flip": "on"}),
    "on": State(on={"flip": "off"}),
})
HUGE = 10 ** 30

BAD_NUMBERS: list[tuple[Callable[[Client], Any], type[Exception], str]] = [
    (lambda c: c.query(limit=HUGE), InvalidArgument, "limit"),
    (lambda c: c.query(limit=0), InvalidArgument, "limit"),
    (lambda c: c.query(limit="10"), ArgumentTypeError, "limit"),
    (lambda c: c.query(limit=True), ArgumentTypeError, "limit"),
    (lambda c: c.query(after=5), ArgumentTypeError, "after"),
    (lambda c: c.query(labels={"a": 1}), ArgumentTypeError, "labels"),
    (lambda c: c.query(chart=5), ArgumentTypeError, "chart"),
    (lambda c: c.history("l-1", after=HUGE), InvalidArgument, "after"),
    (lambda c: c.history("l-1", after=-1), InvalidArgument, "after"),
    (lambda c: c.history("l-1", limit=HUGE), InvalidArgument, "limit"),
    (lambda c: c.history("l-1", limit=1.5), ArgumentTypeError, "limit"),
]


def _stored(client: Client) -> Any:
    ids = sorted(r.id for r in client.store.query(limit=10_000))
    return [(client.store.load(i), client.store.history(i)) for i in ids]


@pytest.mark.parametrize(("call", "error", "argument"), BAD_NUMBERS)
def test_numbers_out_of_range_are_named_errors(
        client: Client, call: Callable[[Client], Any], error: type[Exception],
        argument: str) -> None:
    client.register(LAMP)
    client.start("lamp", "l-1")
    with pytest.raises(error, match=rf"\b{argument}="):
        call(client)


LONG = "x" * 1_001
TOO_LONG: list[tuple[Callable[[Client], Any], str]] = [
    (lambda c: c.start("lamp", LONG), "instance_id"),
    (lambda c: c.send(LONG, "flip"), "instance_id"),
    (lambda c: c.get(LONG), "instance_id"),
    (lambda c: c.history(LONG), "instance_id"),
    (lambda c: c.send("l-1", LONG), "event"),
    (lambda c: c.send("l-1", "flip", idempotency_key=LONG), "idempotency_key"),
    (lambda c: c.send("l-1", "flip", actor=LONG), "actor"),
    (lambda c: c.send("l-1", "flip", trace_id=LONG), "trace_id"),
    (lambda c: c.start("lamp", "l-2", labels={"k": LONG}), "labels"),
    (lambda c: c.start("lamp", "l-2", labels={LONG: "v"}), "labels"),
    (lambda c: c.send("l-1", "é" * 1_001), "event"),
]


@pytest.mark.parametrize(("call", "argument"), TOO_LONG)
def test_names_longer_than_the_limit_are_refused(
        client: Client, call: Callable[[Client], Any], argument: str) -> None:
    client.register(LAMP)
    client.start("lamp", "l-1")
    before = _stored(client)
    with pytest.raises(LimitExceeded, match=rf"{argument}=.*max_name_length=1,000") as info:
        call(client)
    assert info.value.limit == "max_name_length" and info.value.allowed == 1_000
    assert _stored(client) == before


def test_a_name_at_the_limit_is_taken_and_the_limit_can_be_raised(store_url: str) -> None:
    with Client(store_url, worker=False) as client:
        client.register(LAMP)
        assert client.start("lamp", "x" * 1_000).id == "x" * 1_000
    with Client(store_url, worker=False, limits=Limits(max_name_length=5_000)) as client:
        client.register(LAMP)
        client.start("lamp", "y" * 5_000)
        assert client.send("y" * 5_000, "flip", idempotency_key="k" * 4_000).state == "on"


def test_the_async_client_has_the_same_bounds(store_url: str) -> None:
    async def main() -> None:
        async with AsyncClient(store_url, worker=False) as client:
            client.register(LAMP)
            await client.start("lamp", "l-1")
            with pytest.raises(LimitExceeded, match="instance_id="):
                await client.start("lamp", LONG)
            with pytest.raises(LimitExceeded, match="event="):
                await client.send("l-1", LONG)
            with pytest.raises(InvalidArgument, match="limit="):
                await client.query(limit=HUGE)
            with pytest.raises(InvalidArgument, match="after="):
                await client.history("l-1", after=HUGE)

    asyncio.run(main())
