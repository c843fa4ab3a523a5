"""A lazy migration and its event whose COMMIT was cut: both landed, or neither did.

The two commits (the migration, then the event's step) go in one transaction.  A TCP proxy
between the client and the test's PostgreSQL server cuts the connection at the next
``COMMIT``, before the server sees it or after it answered (the answer swallowed); the
engine reads the log back and either answers the step as committed or plans it again.
Either way the instance is migrated once and the event applied once.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pg_proxy import CuttingProxy, proxied_url
from statekeeper import Assign, Chart, Migration, State, Transition, VirtualClock
from statekeeper.client import Client

pytestmark = pytest.mark.postgres


def counter(version: int) -> Chart:
    return Chart("counter", version=version, initial="counting", data={"n": 0}, states={
        "counting": State(on={"tick": Transition(actions=[Assign("n", "inc")])}),
    })


@pytest.fixture
def proxy(postgres_server: str) -> Iterator[CuttingProxy]:
    with CuttingProxy.to(postgres_server) as made:
        yield made


@pytest.fixture
def client(proxy: CuttingProxy, postgres_server: str, pg_schema: str) -> Iterator[Client]:
    url = proxied_url(postgres_server, proxy, pg_schema)
    inc = {"inc": lambda data, event: data["n"] + 1}
    with Client(url, clock=VirtualClock(1000.0), worker=False) as made:
        made.register(counter(1), functions=inc)
        made.start("counter", "c-1")
        made.register(counter(2), functions=inc)
        made.register_migration(Migration("counter", 1, 2,
                                          data=lambda d: {**d, "n": d["n"] + 100}))
        made.migrate("counter", 2, dry_run=False, lazy=True)
        yield made


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_cut_commit_migrates_once_and_applies_the_event_once(
        client: Client, proxy: CuttingProxy, when: str) -> None:
    proxy.arm(when)
    state = client.send("c-1", "tick")  # no idempotency key: a blind retry would repeat it
    assert proxy.cut.is_set()
    assert (state.version, state.data) == ("2", {"n": 101})
    events = [row.event for row in client.history("c-1")]
    assert events == ["statekeeper.start", "statekeeper.migrate", "tick"]
    assert client.get("c-1").data == {"n": 101}
    assert client.send("c-1", "tick").data == {"n": 102}  # on v2, not migrated again
