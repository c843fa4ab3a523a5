"""The planner's memo of static steps never disagrees with the pure step."""

from __future__ import annotations

import random

from statekeeper import Chart, Parallel, State
from statekeeper.client import Client
from statekeeper.core.compile import compile_chart
from statekeeper.core.events import Event
from statekeeper.core.step import initial_step, step
from statekeeper.runtime.planner import _MEMO
from statekeeper.runtime.rows import snapshot_from_row

CHART = Chart("memo", version=1, initial="off", states={
    "off": State(on={"on": "running", "noop": "off"}),
    "running": Parallel(states={
        "a": State(initial="a1", states={"a1": State(on={"x": "a2"}), "a2": State(on={"x": "a1"})}),
        "b": State(initial="b1", states={"b1": State(on={"y": "b2"}), "b2": State(on={"y": "b1"})}),
    }, on={"off": "off"}),
})


def test_memoised_steps_match_the_pure_step(client: Client) -> None:
    compiled = client.register(CHART)
    reference = compile_chart(CHART)
    client.start("memo", "m-1")
    snapshot = initial_step(reference, now=0.0, data={}, session="m-1").snapshot
    rng = random.Random(3)
    for _ in range(300):
        event = rng.choice(["on", "off", "x", "y", "noop"])
        expected = step(reference, snapshot, Event(event), now=0.0)
        if expected.status != "applied":
            continue
        state = client.send("m-1", event)
        snapshot = expected.snapshot
        assert state.configuration == snapshot.configuration
        stored = snapshot_from_row(client.store.load("m-1"))
        assert stored.configuration == snapshot.configuration
        assert (stored.data, stored.timers, stored.counter) == (
            snapshot.data, snapshot.timers, snapshot.counter)
        row = client.history("m-1")[-1]
        assert [m["entered"] for m in row.microsteps] == [
            list(m.entered) for m in expected.microsteps]
    assert compiled.memo[_MEMO], "the memo was used"
