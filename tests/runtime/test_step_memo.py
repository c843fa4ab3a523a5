"""The planner's memo of static steps never disagrees with the pure step."""

from __future__ import annotations

import random
import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st

from statekeeper import Chart, Parallel, State, Transition, VirtualClock
from statekeeper.client import Client
from statekeeper.core.actions import Assign
from statekeeper.core.compile import compile_chart
from statekeeper.core.events import Event
from statekeeper.core.step import initial_step, step
from statekeeper.runtime.rows import snapshot_from_row
from statekeeper.runtime.step_memo import _MEMO

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


COUNTER = Chart("counter", version=1, initial="idle", states={
    "idle": State(on={"go": "busy", "tick": Transition("idle", actions=[Assign("n", expr="inc")])}),
    "busy": State(on={
        "go": "idle",
        "tick": Transition("busy", actions=[Assign("n", expr="inc")]),
        "note": Transition("busy", actions=[Assign("last", expr="payload")]),
    }),
})
FUNCTIONS = {"inc": lambda data, event: data.get("n", 0) + 1,
             "payload": lambda data, event: event.data}


@settings(max_examples=25, deadline=None)
@given(events=st.lists(st.tuples(st.sampled_from(["go", "tick", "note"]),
                                 st.integers(0, 3)), max_size=25),
       backend=st.sampled_from(["memory", "sqlite"]))
def test_rows_written_after_static_and_data_steps_match_the_pure_step(
        events: list[tuple[str, int]], backend: str) -> None:
    # The row keeps its snapshot's JSON across steps that only move the configuration; a step
    # that changes data, in any order with those, must never leave an old text behind.
    reference = compile_chart(COUNTER, functions=FUNCTIONS)
    snapshot = initial_step(reference, now=0.0, data={}, session="c-1").snapshot
    with tempfile.TemporaryDirectory() as tmp:
        url = "memory://" if backend == "memory" else f"sqlite:///{tmp}/c.db"
        with Client(url, clock=VirtualClock(), worker=False) as client:
            client.register(COUNTER, functions=FUNCTIONS)
            client.start("counter", "c-1")
            for name, value in events:
                expected = step(reference, snapshot, Event(name, {"v": value}), now=0.0)
                if expected.status != "applied":
                    continue
                client.send("c-1", name, {"v": value})
                snapshot = expected.snapshot
                stored = snapshot_from_row(client.store.load("c-1"))
                assert (stored.configuration, stored.data) == (
                    snapshot.configuration, snapshot.data)
            reopened = Client(url, clock=VirtualClock(), worker=False) if backend == "sqlite" \
                else None
            if reopened is not None:  # a fresh engine reads the same row back
                with reopened:
                    reopened.register(COUNTER, functions=FUNCTIONS)
                    assert reopened.get("c-1").data == snapshot.data
