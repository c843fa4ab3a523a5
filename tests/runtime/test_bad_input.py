"""One caller's bad input fails that caller alone: the rest of its group commit lands.

The engine writes the requests it finds waiting as one transaction.  A request whose data
cannot be stored (not JSON) used to fail the whole group, so fifteen callers with good events
lost them to a sixteenth caller's mistake.  Now the group is written again commit by commit,
and only the bad request hears of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from statekeeper import Chart, ChartError, State, VirtualClock
from statekeeper.client import AsyncClient, Client
from statekeeper.core.events import Event
from statekeeper.runtime.engine import Engine
from statekeeper.runtime.registry import Registry
from statekeeper.runtime.requests import DeliverEvent, StartInstance
from statekeeper.storage.base import Store
from statekeeper.storage.memory import MemoryStore
from statekeeper.storage.sqlite import SQLiteStore

LAMP = Chart("lamp", version=1, initial="off", states={
    "off": State(on={"flip": "on"}),
    "on": State(on={"flip": "off"}),
})
WAIT = 5.0


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made: Store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "l.db")
    made.migrate()
    yield made
    made.close()


def one_batch(store: Store, requests: list[Any]) -> Engine:
    """An engine whose first batch is exactly ``requests`` (queued before its thread starts)."""
    registry = Registry()
    registry.register(LAMP)
    engine = Engine(store, registry, VirtualClock(100.0))
    for request in requests:
        engine._queue.put(request)
    engine.start()
    engine.flush()
    return engine


def test_data_that_is_not_json_fails_its_own_send_and_no_other(store: Store) -> None:
    ids = [f"l-{i}" for i in range(6)]
    one_batch(store, [StartInstance("lamp", i) for i in ids]).close()
    bad = DeliverEvent("l-2", Event("flip", {"seen": {1, 2}}))  # a set: not JSON
    after_bad = DeliverEvent("l-2", Event("flip"))  # the same instance, later in the group
    good = [DeliverEvent(i, Event("flip", {"n": n})) for n, i in enumerate(ids) if i != "l-2"]
    engine = one_batch(store, [*good[:2], bad, after_bad, *good[2:]])
    try:
        with pytest.raises(ValueError, match=r"'l-2'.*JSON") as info:
            bad.future.result(WAIT)
        assert "set" in str(info.value)
        assert [r.future.result(WAIT).state for r in good] == ["on"] * len(good)
        assert after_bad.future.result(WAIT).state == "on"  # planned again on the stored state
    finally:
        engine.close()
    for request in good:
        assert [t.event for t in store.history(request.instance)] == ["statekeeper.start", "flip"]
    # the bad event left no row: the one flip of l-2 is the event sent after it
    assert [(t.event, t.data) for t in store.history("l-2")] == [("statekeeper.start", None),
                                                                 ("flip", None)]
    assert store.integrity_check() == []


@pytest.mark.parametrize(("options", "error", "reason"), [
    ({"idempotency_key": 5}, TypeError, r"idempotency_key.*string"),
    ({"idempotency_key": ""}, ValueError, r"idempotency_key.*empty"),
    ({"actor": 5}, TypeError, r"actor.*string"),
    ({"trace_id": 7}, TypeError, r"trace_id.*string"),
])
def test_send_refuses_a_malformed_option_and_records_nothing(
        client: Client, options: dict[str, Any], error: type[Exception], reason: str) -> None:
    client.register(LAMP)
    client.start("lamp", "l-1")
    with pytest.raises(error, match=reason):
        client.send("l-1", "flip", **options)
    assert [t.event for t in client.history("l-1")] == ["statekeeper.start"]
    assert client.send("l-1", "flip", idempotency_key="k", actor="ops", trace_id="t").state == "on"


def test_when_a_state_the_chart_does_not_have_fails_at_once(client: Client) -> None:
    client.register(LAMP)
    client.start("lamp", "l-1")
    with pytest.raises(KeyError, match=r"no state 'of'.*did you mean 'off'"):
        client.when("l-1", "of", timeout=WAIT)

    async def main() -> None:
        aio = AsyncClient(client.store, worker=False)
        aio.register(LAMP)
        try:
            with pytest.raises(KeyError, match=r"no state 'onn'"):
                await asyncio.wait_for(aio.when("l-1", "onn"), WAIT)
        finally:
            await aio.close()

    asyncio.run(main())


@pytest.mark.parametrize(("options", "error", "reason"), [
    ({"data": [1, 2]}, TypeError, r"data.*mapping"),
    ({"labels": ["region"]}, TypeError, r"labels.*strings"),
    ({"labels": {"region": 1}}, TypeError, r"labels.*strings"),
])
def test_start_refuses_malformed_data_or_labels(client: Client, options: dict[str, Any],
                                                error: type[Exception], reason: str) -> None:
    client.register(LAMP)
    with pytest.raises(error, match=reason):
        client.start("lamp", "l-1", **options)
    assert client.query() == []


def test_a_changed_chart_under_a_registered_version_is_refused(client: Client) -> None:
    client.register(LAMP)
    client.start("lamp", "l-1")
    changed = Chart("lamp", version=1, initial="off", states={
        "off": State(on={"flip": "on"}),
        "on": State(on={"flip": "off", "break": "off"}),
    })
    with pytest.raises(ChartError, match=r"'lamp' v1 is already registered.*new version"):
        client.register(changed)
    assert client.send("l-1", "flip").state == "on"  # the registered chart still serves it
    client.register(LAMP)  # the same structure again (new bindings, say) is fine
    client.register(Chart("lamp", version=2, initial="off", states={
        "off": State(on={"flip": "on"}), "on": State(on={"flip": "off", "break": "off"})}))
    assert client.start("lamp", "l-2").chart == "lamp" and client.get("l-2").version == "2"


@pytest.mark.parametrize(("event", "error", "reason"), [
    (5, TypeError, r"name \(str\) or an Event, not 5"),
    (None, TypeError, r"not None"),
    ("", ValueError, r"not an event a caller may send"),
    ("statekeeper.start", ValueError, r"not an event a caller may send"),
])
def test_send_refuses_what_is_not_an_event_a_caller_may_send(
        client: Client, event: Any, error: type[Exception], reason: str) -> None:
    client.register(LAMP)
    client.start("lamp", "l-1")
    with pytest.raises(error, match=reason):
        client.send("l-1", event)
    assert [t.event for t in client.history("l-1")] == ["statekeeper.start"]
