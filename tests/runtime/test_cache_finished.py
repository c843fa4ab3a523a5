"""A finished instance leaves the engine's cache; what it answers afterwards is unchanged."""

from __future__ import annotations

import pytest

from statekeeper import Chart, Final, MachineFinished, State, VirtualClock
from statekeeper.client import Client

ONCE = Chart("once", version=1, initial="waiting", states={
    "waiting": State(on={"ring": "rang", "poke": "waiting"}, after={"1s": "rang"}),
    "rang": Final(),
})


def test_a_finished_instance_is_not_kept_in_the_cache(client: Client,
                                                      clock: VirtualClock) -> None:
    client.register(ONCE)
    client.start("once", "o-1")
    client.start("once", "o-2")
    client.send("o-2", "poke")
    cached = client.engine._cache.rows
    assert {"o-1", "o-2"} <= set(cached)
    clock.advance(1)
    assert client.worker.run_until_idle() == 2  # both timers fire, both instances finish
    assert "o-1" not in cached and "o-2" not in cached
    assert client.get("o-1").status == "done"
    with pytest.raises(MachineFinished):  # read again from the store, refused as before
        client.send("o-1", "ring")
    assert [r.event for r in client.history("o-1")] == ["statekeeper.start",
                                                        "statekeeper.after.waiting.0"]
