"""An event from a timer or an effect whose step cannot be stored is dead-lettered, not looped.

A chart function may put a value into the data that JSON cannot hold (a ``datetime``), or an
effect may return one.  A caller's ``send`` then fails with a ``ValueError`` and nothing is
written.  But nobody waits on a timer's or an effect's event: it used to fail the same way on
every scan, forever, leaving its instance stuck and the worker spinning.  Now the event is
recorded as rejected, its timer or outbox row is closed, and it is kept as a dead letter an
operator can replay once the chart is fixed; an effect result that cannot be stored is the
effect's failure (``error.effect.<name>``), which the chart can handle.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from statekeeper import Chart, ChartError, Content, Effect, Final, Invoke, State, Transition
from statekeeper.client import Client
from statekeeper.core.actions import Assign
from statekeeper.runtime.rows import snapshot_from_row

WAIT = Chart("wait", version=1, initial="idle", states={
    "idle": State(on={"go": "waiting"}),
    "waiting": State(after={"1s": Transition("done", actions=[Assign("at", expr="stamp")])}),
    "done": Final(),
}, data={"at": None})

FETCH = Chart("fetch", version=1, initial="idle", states={
    "idle": State(on={"go": "working"}),
    "working": State(entry=[Effect("fetch")],
                     on={"done.effect.fetch": "done", "error.effect.fetch": "failed"}),
    "done": Final(),
    "failed": Final(),
})


def a_datetime(data: Any, event: Any) -> Any:
    return datetime.datetime(2026, 1, 1)


def a_string(data: Any, event: Any) -> Any:
    return "2026-01-01"


def test_a_timer_whose_step_cannot_be_stored_is_dead_lettered_once(client: Client) -> None:
    client.register(WAIT, functions={"stamp": a_datetime})
    client.start("wait", "w-1")
    client.send("w-1", "go")
    client.clock.advance(2)  # type: ignore[attr-defined]
    assert client.worker.run_until_idle() == 1  # handled once: not again on the next scan
    state = client.get("w-1")
    assert state.state == "waiting" and state.data == {"at": None}
    assert client.store.timers("w-1") == []
    assert snapshot_from_row(client.store.load("w-1")).timers == {}  # the snapshot agrees
    last = client.history("w-1")[-1]
    assert last.outcome == "rejected" and "JSON" in (last.reason or "")
    (letter,) = client.dead_letters("w-1")
    assert letter.kind == "event" and "datetime" in letter.errors[0]
    assert letter.payload["event"]["name"] == last.event
    assert client.store.integrity_check() == []
    # once the chart's function is fixed, the operator replays the event and the instance moves
    client.register(WAIT, functions={"stamp": a_string})
    assert client.replay_dead_letter(letter.id or 0, actor="ops").state == "done"
    assert client.get("w-1").data == {"at": "2026-01-01"}
    assert client.dead_letters() == []


def test_an_effect_result_that_cannot_be_stored_is_the_effect_failing(client: Client) -> None:
    calls: list[str] = []

    def fetch(args: Any, key: str) -> Any:
        calls.append(key)
        return {"when": datetime.datetime(2026, 1, 1)}

    client.register(FETCH, effects={"fetch": fetch})
    client.start("fetch", "f-1")
    client.send("f-1", "go")
    client.worker.run_until_idle()
    assert client.get("f-1").state == "failed"
    assert len(calls) == 1  # not run again and again
    (effect,) = client.store.effects("f-1")
    assert effect.status == "failed" and "JSON" in (effect.last_error or "")
    outcome = client.history("f-1")[-1]
    assert outcome.event == "error.effect.fetch" and "datetime" in str(outcome.data)


def test_a_chart_with_an_invoke_is_refused_when_registered(client: Client) -> None:
    child = Chart("child", initial="a", states={"a": Final()})
    chart = Chart("parent", initial="busy", states={
        "busy": State(invoke=Invoke(content=Content(value=child)), on={"done.invoke.x": "end"}),
        "end": Final(),
    })
    with pytest.raises(ChartError, match="invoke") as info:
        client.register(chart)
    assert info.value.state == "busy"


@pytest.mark.parametrize(("result", "reason"), [
    ({"amount": float("nan")}, "nan is not a number"),
    ({"codes": {404: "missing"}}, "the key 404"),
    ({"name": "\udcff"}, "lone surrogate"),
])
def test_an_effect_result_json_would_change_is_the_effect_failing(client: Client, result: Any,
                                                                  reason: str) -> None:
    # NaN used to be stored as non-standard JSON and {404: ...} as {"404": ...}: the chart
    # saw another value than the effect returned
    client.register(FETCH, effects={"fetch": lambda args, key: result})
    client.start("fetch", "f-1")
    client.send("f-1", "go")
    client.worker.run_until_idle()
    assert client.get("f-1").state == "failed"
    (effect,) = client.store.effects("f-1")
    assert effect.status == "failed" and reason in (effect.last_error or "")
