"""Payloads and instance data hold exactly what JSON can, within the limits, or are refused.

Before, ``{1: 2}`` silently became ``{"1": 2}`` once stored, NaN was stored as non-standard
JSON, and a set failed deep inside the store.  Machines and clients now refuse such a value
where it enters, naming its path, before anything runs or is stored.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from statekeeper import (
    AsyncMachine,
    Chart,
    InvalidPayload,
    LimitExceeded,
    Limits,
    Machine,
    State,
    StatekeeperError,
    Transition,
    VirtualClock,
    compile_chart,
)
from statekeeper.client import Client

CART = compile_chart(Chart("cart", initial="open", states={
    "open": State(on={"add": Transition("open")}),
}))


def _deep(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


BAD = [
    ({1: 2}, InvalidPayload, r"^\$: the key 1 .*not a string.*write '1'"),
    ({"items": [0, 0, {"price": float("nan")}]}, InvalidPayload, r"^\$\.items\[2\]\.price: nan"),
    ({"x": float("inf")}, InvalidPayload, r"^\$\.x: inf"),
    ({"s": "a\udc80"}, InvalidPayload, r"^\$\.s: .*lone surrogate"),
    ({"n": 10 ** 5000}, InvalidPayload, r"^\$\.n: an int of more than"),
    ({"tags": {"a"}}, InvalidPayload, r"^\$\.tags: .*set.*send a list"),
    ({"blob": b"x"}, InvalidPayload, r"^\$\.blob: .*bytes"),
    ({"when": object()}, InvalidPayload, r"^\$\.when: .*object"),
    ({"deep": _deep(200)}, LimitExceeded, r"max_depth=100"),
    ({"big": "x" * 5_000_000}, LimitExceeded, r"max_payload_bytes=4,000,000"),
]


@pytest.mark.parametrize(("payload", "error", "reason"), BAD)
def test_a_machine_refuses_a_payload_json_cannot_hold(payload: Any, error: type[Exception],
                                                      reason: str) -> None:
    machine = Machine(CART, data={"n": 1})
    with pytest.raises(error, match=reason) as caught:
        machine.send("add", payload)
    assert isinstance(caught.value, StatekeeperError)
    assert machine.data == {"n": 1} and machine.configuration == ("open",)
    with pytest.raises(error, match=reason):
        Machine(CART, data=payload)

    async def run() -> None:
        other = AsyncMachine(CART)
        with pytest.raises(error, match=reason):
            await other.send("add", payload)
        with pytest.raises(error, match=reason):
            AsyncMachine(CART, data=payload)

    asyncio.run(run())


@pytest.mark.parametrize(("payload", "error", "reason"), BAD[:4] + BAD[8:9])
def test_a_client_refuses_it_and_stores_nothing(tmp_path: Path, payload: Any,
                                                error: type[Exception], reason: str) -> None:
    with Client(f"sqlite:///{tmp_path / 'p.db'}", clock=VirtualClock(), worker=False) as client:
        client.register(CART)
        client.start("cart", "c-1", data={"n": 1})
        before = client.store.load("c-1")
        with pytest.raises(error, match=reason):
            client.send("c-1", "add", payload)
        with pytest.raises(error, match=reason):
            client.start("cart", "c-2", data=payload)
        assert client.store.load("c-1") == before
        assert [r.event for r in client.history("c-1")] == ["statekeeper.start"]
        assert client.query(chart="cart") and len(client.query(chart="cart")) == 1


def test_limits_are_the_callers_to_raise() -> None:
    roomy = Limits(max_depth=300)
    Machine(CART, limits=roomy).send("add", {"deep": _deep(200)})
    with pytest.raises(LimitExceeded, match=r"max_payload_bytes=10 "):
        Machine(CART, limits=Limits(max_payload_bytes=10)).send("add", {"a": "long enough"})


def test_what_json_holds_is_accepted() -> None:
    payload = {"a": [1, 2.5, None, True, "é", {"b": (1, 2)}], "n": 10 ** 30, "": ""}
    machine = Machine(CART, data=payload)
    assert machine.data == payload
    assert machine.send("add", payload).status == "applied"
