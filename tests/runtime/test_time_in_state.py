"""Time in state from when the instance entered it (``entered_at``), not its last commit.

Real clients on every store, a real ``CollectorRegistry`` and a real ``logging`` handler; the
virtual clock makes each time exact.  Steps that change only data, and rejected events,
commit in between: the time in state still counts from the entry.  On SQLite and PostgreSQL
a second client reads the instance from the store (no cache of the first): the store's kept
``entered_at`` says it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace

import pytest
from prometheus_client import CollectorRegistry
from test_structured_logs import Kept

from statekeeper import Assign, Chart, Migration, State, Transition, VirtualClock
from statekeeper.client import Client
from statekeeper.core.errors import EventNotAccepted

DOOR = Chart("door", version=1, initial="closed", data={"notes": 0}, states={
    "closed": State(on={"open": "opened",
                        "note": Transition(None, actions=[Assign("notes", value=1)])}),
    "opened": State(on={"close": "closed",
                        "note": Transition(None, actions=[Assign("notes", value=2)])}),
})


@pytest.fixture
def kept() -> Iterator[Kept]:
    handler = Kept()
    logger = logging.getLogger("statekeeper.transitions")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def in_source(kept: Kept, event: str) -> list[float | None]:
    return [x["in_source"] for x in kept.lines if x["event"] == event]


def spent(registry: CollectorRegistry, state: str) -> tuple[float | None, float | None]:
    labels = {"chart": "door", "state": state}
    return (registry.get_sample_value("statekeeper_state_duration_seconds_count", labels),
            registry.get_sample_value("statekeeper_state_duration_seconds_sum", labels))


def test_time_in_state_counts_from_the_entry(store_url: str, clock: VirtualClock,
                                             kept: Kept) -> None:
    registry = CollectorRegistry()
    client = Client(store_url, clock=clock, worker=False, metrics=registry)
    client.register(DOOR)
    client.start("door", "d-1")
    clock.advance(60)
    client.send("d-1", "note")  # data only: still in "closed" since the start
    clock.advance(30)
    client.send("d-1", "open")
    assert in_source(kept, "note") == [60.0]
    assert in_source(kept, "open") == [90.0]  # not 30: the note did not move it
    assert spent(registry, "closed") == (1.0, 90.0)
    clock.advance(10)
    with pytest.raises(EventNotAccepted):
        client.send("d-1", "open")  # rejected: a row, and no move
    clock.advance(5)
    client.send("d-1", "note")
    if not store_url.startswith("memory"):  # a second client reads the row, not a cache
        client.close()
        client = Client(store_url, clock=clock, worker=False, metrics=registry)
        client.register(DOOR)
    clock.advance(15)
    client.send("d-1", "close")
    assert in_source(kept, "open") == [90.0, 10.0]
    assert in_source(kept, "close") == [30.0]  # in "opened" from t=90 to t=120
    assert spent(registry, "opened") == (1.0, 30.0)
    client.close()


@pytest.mark.parametrize("lazy", [False, True], ids=["batch", "lazy"])
def test_a_migration_keeping_the_state_keeps_the_entry(store_url: str, clock: VirtualClock,
                                                       kept: Kept, lazy: bool) -> None:
    """Moved to a new version in the same states, the instance is still where it was."""
    client = Client(store_url, clock=clock, worker=False)
    client.register(DOOR)
    client.register(replace(DOOR, version=2))
    client.register_migration(Migration("door", 1, 2))
    client.start("door", "d-1", version=1)
    clock.advance(60)
    run = client.migrate("door", 2, dry_run=False, lazy=lazy)
    assert [m.instance for m in run.instances] == ([] if lazy else ["d-1"])
    clock.advance(30)
    client.send("d-1", "open")
    assert in_source(kept, "open") == [pytest.approx(90.0)]
    client.close()
