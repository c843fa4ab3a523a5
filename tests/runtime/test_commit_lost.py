"""A connection lost during COMMIT: the engine finds out whether the step landed.

Found by the PostgreSQL fault test's analysis: when the connection dies while the server
commits, the client cannot know whether the transaction committed.  Reporting "did not
commit" (and so inviting a retry) applies a step without an idempotency key twice if it did.
The engine now reads each step's log row back: a step that landed is answered as committed,
one that did not is planned again, and when the store cannot be read either the caller gets
:class:`~statekeeper.storage.CommitUncertain`, which says how to find out.

The fault is real: a TCP proxy between the client and the test's PostgreSQL server forwards
everything, and cuts the connection at the next ``COMMIT``, either before the server sees it
or after the server answered it (the answer swallowed).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pg_proxy import CuttingProxy, proxied_url
from statekeeper import Assign, Chart, State, Transition, VirtualClock
from statekeeper.client import Client
from statekeeper.storage import CommitUncertain, StoreUnavailable

pytestmark = pytest.mark.postgres

COUNTER = Chart("counter", version=1, initial="counting", data={"n": 0}, states={
    "counting": State(on={"tick": Transition(actions=[Assign("n", "inc")])}),
})


@pytest.fixture
def proxy(postgres_server: str) -> Iterator[CuttingProxy]:
    with CuttingProxy.to(postgres_server) as made:
        yield made


@pytest.fixture
def client(proxy: CuttingProxy, postgres_server: str, pg_schema: str) -> Iterator[Client]:
    url = proxied_url(postgres_server, proxy, pg_schema)
    with Client(url, clock=VirtualClock(1000.0), worker=False) as made:
        made.register(COUNTER, functions={"inc": lambda data, event: data["n"] + 1})
        made.start("counter", "c-1")
        yield made


def ticks(client: Client) -> int:
    return [row.event for row in client.history("c-1")].count("tick")


def test_a_step_whose_commit_answer_was_lost_is_answered_not_applied_again(
        client: Client, proxy: CuttingProxy) -> None:
    proxy.arm("after")
    state = client.send("c-1", "tick")  # no idempotency key: a blind retry would apply it twice
    assert proxy.cut.is_set()
    assert state.data["n"] == 1 and state.outcome == "applied"
    assert ticks(client) == 1 and client.get("c-1").data["n"] == 1
    assert client.send("c-1", "tick").data["n"] == 2  # the engine goes on as usual


def test_a_step_cut_before_its_commit_reached_the_server_is_written_once(
        client: Client, proxy: CuttingProxy) -> None:
    proxy.arm("before")
    state = client.send("c-1", "tick")
    assert proxy.cut.is_set()
    assert state.data["n"] == 1
    assert ticks(client) == 1 and client.get("c-1").data["n"] == 1


def test_when_the_store_cannot_tell_the_caller_hears_commit_uncertain(
        client: Client, proxy: CuttingProxy) -> None:
    proxy.arm("after")
    proxy.refuse = True  # the server looks down: the engine cannot read the log back
    with pytest.raises(CommitUncertain) as caught:
        client.send("c-1", "tick")
    assert isinstance(caught.value, StoreUnavailable)  # code that retries on it still works
    assert "may have committed" in str(caught.value)
    assert "idempotency" in str(caught.value) and "history" in str(caught.value)
    proxy.refuse = False
    assert ticks(client) == 1  # it had landed

