"""A value a step puts into data that JSON cannot hold is a named error, and nothing is stored.

Before, the store refused the commit with its private class ``_Malformed`` (a bare
``ValueError`` to the caller).  It is now :class:`~statekeeper.UnstorableValue`, an
:class:`~statekeeper.InvalidPayload` (and still a ``ValueError``) whose path says where.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from statekeeper import (
    Assign,
    Call,
    Chart,
    Effect,
    InvalidPayload,
    Param,
    Send,
    State,
    StatekeeperError,
    Transition,
    UnstorableValue,
    VirtualClock,
)
from statekeeper.client import Client

BOX = Chart("box", initial="open", states={
    "open": State(on={"put": Transition(actions=[Assign("inside.thing", expr="thing")])}),
}, data={"inside": {"thing": 1}})


@pytest.mark.parametrize(("thing", "reason"), [
    ({1, 2}, r"set"),
    (object(), r"object"),
])
def test_an_assign_json_cannot_hold_is_refused_by_name(tmp_path: Path, thing: Any,
                                                       reason: str) -> None:
    with Client(f"sqlite:///{tmp_path / 'b.db'}", clock=VirtualClock(), worker=False) as client:
        client.register(BOX, functions={"thing": lambda data, event: thing})
        client.start("box", "b-1")
        before = client.store.load("b-1")
        with pytest.raises(UnstorableValue, match=rf"\$\.data\.inside\.thing: .*{reason}") as caught:
            client.send("b-1", "put")
        assert isinstance(caught.value, InvalidPayload)
        assert isinstance(caught.value, StatekeeperError)
        assert isinstance(caught.value, ValueError)
        assert type(caught.value).__name__ == "UnstorableValue"
        assert client.store.load("b-1") == before
        assert client.get("b-1").data == {"inside": {"thing": 1}}


# What JSON cannot hold exactly, but its encoder used to write anyway: NaN and the infinities as
# non-standard JSON, int keys as strings, a lone surrogate as text SQLite cannot encode.
@pytest.mark.parametrize(("thing", "where", "reason"), [
    (float("nan"), "", r"nan is not a number JSON can hold"),
    (float("inf"), "", r"inf is not a number JSON can hold"),
    ([1.0, float("-inf")], r"\[1\]", r"-inf is not a number JSON can hold"),
    ({1: 2}, "", r"the key 1 \(of type int\) is not a string"),
    ({"a": {None: 2}}, r"\.a", r"the key None \(of type NoneType\)"),
    ("\ud800", "", r"lone surrogate"),
])
@pytest.mark.parametrize("url", ["sqlite", "memory"])
def test_data_json_would_change_is_refused_with_its_path(tmp_path: Path, thing: Any, where: str,
                                                         reason: str, url: str) -> None:
    target = f"sqlite:///{tmp_path / 'b.db'}" if url == "sqlite" else "memory://"
    with Client(target, clock=VirtualClock(), worker=False) as client:
        client.register(BOX, functions={"thing": lambda data, event: thing})
        client.start("box", "b-1")
        before = client.store.load("b-1")
        history = client.store.history("b-1")
        with pytest.raises(UnstorableValue,
                           match=rf"instance 'b-1' \$\.data\.inside\.thing{where}: .*{reason}"):
            client.send("b-1", "put")
        assert client.store.load("b-1") == before
        assert client.store.history("b-1") == history
        assert client.get("b-1").data == {"inside": {"thing": 1}}


def test_a_call_returning_int_keys_is_refused_not_turned_into_strings(tmp_path: Path) -> None:
    chart = Chart("calls", initial="a", states={
        "a": State(on={"go": Transition(actions=[Call("numbers")])}),
    }, data={"n": 0})
    with Client(f"sqlite:///{tmp_path / 'c.db'}", clock=VirtualClock(), worker=False) as client:
        client.register(chart, functions={"numbers": lambda data, event: {"n": 1, 7: "seven"}})
        client.start("calls", "c-1")
        with pytest.raises(UnstorableValue, match=r"\$\.data: the key 7 \(of type int\)"):
            client.send("c-1", "go")
        assert client.get("c-1").data == {"n": 0}


def test_effect_args_and_timer_events_json_cannot_hold_are_refused(tmp_path: Path) -> None:
    chart = Chart("fx", initial="a", states={
        "a": State(on={"go": "b", "later": "c"}),
        "b": State(entry=[Effect("charge", argsexpr="bad_args")], on={"back": "a"}),
        "c": State(entry=[Send("tick", delay=60.0, params=(Param("x", expr="bad"),))],
                   on={"tick": "a"}),
    })
    with Client(f"sqlite:///{tmp_path / 'f.db'}", clock=VirtualClock(), worker=False) as client:
        client.register(chart, effects={"charge": lambda **kw: None}, functions={
            "bad_args": lambda data, event: {"amount": float("nan")},
            "bad": lambda data, event: float("-inf")})
        client.start("fx", "f-1")
        before = client.store.load("f-1")
        with pytest.raises(UnstorableValue, match=r"effect '.*' args \$\.amount: nan"):
            client.send("f-1", "go")
        with pytest.raises(UnstorableValue, match=r"\$\.timers\[.*\]\.event\.data\.x: -inf"):
            client.send("f-1", "later")
        assert client.store.load("f-1") == before
        assert client.store.effects("f-1") == []
        assert client.store.timers("f-1") == []
