"""Refusals shown to a principal name no state it may not read; a start's row has its actor.

On every store (``store_url``), real committed steps, the order chart and policy of
``test_privacy``: ``disputed`` and ``flagged`` are sensitive, bob (a customer, not alice's
order) reads public fields only, sam (support) reads everything.
"""

from __future__ import annotations

import asyncio

import pytest
from test_privacy import DATA, ORDER, PEOPLE, POLICY

from statekeeper import AsyncClient, NotAuthorized, Principal, VirtualClock
from statekeeper.client import Client
from statekeeper.client.errors import OperatorsOnly
from statekeeper.core.errors import EventNotAccepted
from statekeeper.runtime.authz import UNSEEN_STATE_REASON

BOB, SAM, ALICE = PEOPLE["bob"], PEOPLE["sam"], PEOPLE["alice"]


def _orders(client: Client) -> None:
    client.register(ORDER)
    client.authorize("order", POLICY)
    client.start("order", "o-placed", data=DATA)
    client.start("order", "o-disputed", data=DATA)
    client.send("o-disputed", "dispute", principal=SAM)


def test_a_refusal_without_waiting_names_only_what_the_principal_may_see(
        client: Client) -> None:
    _orders(client)
    refused = client.send("o-disputed", "prep", principal=BOB, wait=False).exception()
    assert isinstance(refused, EventNotAccepted)
    assert refused.configuration == ("hidden",)
    assert "review" not in str(refused) and "disputed" not in str(refused)
    full = client.send("o-disputed", "prep", principal=SAM, wait=False).exception()
    assert isinstance(full, EventNotAccepted)
    assert full.configuration == ("disputed", "review")


@pytest.mark.parametrize("wait", [True, False])
def test_a_refusal_to_enter_a_sensitive_state_does_not_name_it_to_a_non_reader(
        client: Client, wait: bool) -> None:
    _orders(client)

    def refusal(who: Principal | None) -> NotAuthorized:
        if wait:
            with pytest.raises(NotAuthorized) as caught:
                client.send("o-placed", "dispute", principal=who)
            assert caught.value.__context__ is None  # the full one is not chained
            return caught.value
        error = client.send("o-placed", "dispute", principal=who, wait=False).exception()
        assert isinstance(error, NotAuthorized)
        return error

    bob = refusal(BOB)  # may not enter "disputed", may not read alice's order
    assert bob.reason == UNSEEN_STATE_REASON and "disputed" not in str(bob)
    assert (bob.instance, bob.event, bob.principal) == ("o-placed", "dispute", "bob")
    alice = refusal(ALICE)  # may not enter it either, but reads her own order in full
    assert "entering state 'disputed'" in alice.reason
    # the log keeps the whole reason (the operators' view), and nothing was applied
    denied = [row for row in client.history("o-placed") if row.outcome == "denied"]
    assert [(row.actor, row.reason) for row in denied] == [
        ("bob", alice.reason), ("alice", alice.reason)]
    assert client.get("o-placed").configuration == ("placed",)


def test_the_async_client_hides_the_state_in_both_refusals(
        store_url: str, clock: VirtualClock) -> None:
    async def run() -> tuple[object, object, object]:
        async with AsyncClient(store_url, clock=clock, worker=False) as client:
            client.register(ORDER)
            client.authorize("order", POLICY)
            await client.start("order", "o-1", data=DATA)
            with pytest.raises(NotAuthorized) as waited:
                await client.send("o-1", "dispute", principal=BOB)
            later = await client.send("o-1", "dispute", principal=BOB, wait=False)
            with pytest.raises(NotAuthorized) as unwaited:
                await later
            await client.send("o-1", "dispute", principal=SAM)
            rejected = await client.send("o-1", "prep", principal=BOB, wait=False)
            with pytest.raises(EventNotAccepted) as unaccepted:
                await rejected
            return waited.value.reason, unwaited.value.reason, unaccepted.value.configuration

    assert asyncio.run(run()) == (UNSEEN_STATE_REASON, UNSEEN_STATE_REASON, ("hidden",))


def test_a_start_row_records_its_principal_as_actor(store_url: str,
                                                     clock: VirtualClock) -> None:
    with Client(store_url, clock=clock, worker=False, principal=SAM) as client:
        client.register(ORDER)
        client.authorize("order", POLICY)
        client.start("order", "o-given", data=DATA, principal=BOB)
        client.start("order", "o-default", data=DATA)
        client.send("o-given", "prep", principal=BOB)
        assert [(row.event, row.actor) for row in client.history("o-given")] == [
            ("statekeeper.start", "bob"), ("prep", "bob")]
        assert client.history("o-default")[0].actor == "sam"
        client.principal = None  # audit is the operators' view: not a principal's
        assert [row.instance for row in client.audit(actor="bob", event="statekeeper.start")
                ] == ["o-given"]
    with Client(store_url, clock=clock, worker=False) as plain:
        plain.register(ORDER)
        plain.start("order", "o-anonymous")
        assert plain.history("o-anonymous")[0].actor is None


def test_when_refuses_a_state_the_principal_may_not_see(client: Client) -> None:
    """Waiting for a sensitive state (or one below it) would tell when the instance entered it."""
    _orders(client)
    client.principal = BOB  # public fields of alice's order only
    for state in ("disputed", "review", "flagged"):
        with pytest.raises(OperatorsOnly, match=f"when\\(\\): state {state!r}"):
            client.when("o-disputed", state, timeout=0)
    # a state it may see comes back at once, as bob sees the instance
    assert client.when("o-placed", "placed", timeout=0).data == {"total": 42, "eta": "18:00"}
    for reader in (ALICE, SAM):  # alice reads her own order in full, sam everything
        client.principal = reader
        assert client.when("o-disputed", "review", timeout=0).configuration == (
            "disputed", "review")


def test_the_async_when_refuses_it_too(store_url: str, clock: VirtualClock) -> None:
    async def run() -> tuple[str, ...]:
        async with AsyncClient(store_url, clock=clock, worker=False) as client:
            client.register(ORDER)
            client.authorize("order", POLICY)
            await client.start("order", "o-1", data=DATA)
            await client.send("o-1", "dispute", principal=SAM)
            client.principal = BOB
            with pytest.raises(OperatorsOnly, match="principal 'bob'"):
                await client.when("o-1", "review", timeout=0)
            client.principal = SAM
            return (await client.when("o-1", "disputed", timeout=0)).configuration

    assert asyncio.run(run()) == ("disputed", "review")
