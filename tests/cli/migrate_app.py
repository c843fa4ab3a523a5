"""Chart versions and migrations for the ``statekeeper migrate`` tests (``--module``).

``register(client)`` registers the food-delivery order v1 to v3 and its migrations.  With
``SK_KILL_AT=N`` in the environment, the v1 to v2 data map kills its own process (SIGKILL) when
it is called for the Nth time: a crash in the middle of a batch, with earlier pages
committed and the page being planned not.  ``SK_FAIL=id`` makes it raise for that instance.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from statekeeper import Migration
from statekeeper.examples.versions import (
    ORDER_V1,
    ORDER_V1_TO_V2,
    ORDER_V2,
    ORDER_V2_TO_V3,
    ORDER_V3,
)

_calls = [0]


def _effect(args: Any, key: str) -> None:
    return None


def _data(data: dict[str, Any]) -> dict[str, Any]:
    _calls[0] += 1
    if _calls[0] == int(os.environ.get("SK_KILL_AT", "0")):
        os.kill(os.getpid(), signal.SIGKILL)
    if data.get("id") == os.environ.get("SK_FAIL"):
        raise ValueError(f"cannot map {data['id']}")
    return {**data, "courier_first": True}


def register(client: Any) -> None:
    effects = {"charge": _effect, "refund": _effect}
    for chart in (ORDER_V1, ORDER_V2, ORDER_V3):
        client.register(chart, effects=effects)
    client.register_migration(Migration("order", 1, 2, states=dict(ORDER_V1_TO_V2.states),
                                        data=_data))
    client.register_migration(ORDER_V2_TO_V3)
