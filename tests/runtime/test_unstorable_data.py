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
    Chart,
    InvalidPayload,
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
