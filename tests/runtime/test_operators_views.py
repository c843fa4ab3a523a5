"""History, audit and dead letters are operators' views: a principal's client refuses them.

On every store (``store_url``), the order chart and policy of ``test_privacy`` (reads are
restricted: bob, a customer, reads alice's order's public fields only; alice reads all of
her own; sam, support, reads everything).
"""

from __future__ import annotations

import asyncio

import pytest
from test_privacy import DATA, ORDER, PEOPLE, POLICY

from statekeeper import AsyncClient, Chart, Policy, State, VirtualClock
from statekeeper.client import Client
from statekeeper.client.errors import OperatorsOnly

BOB, SAM, ALICE = PEOPLE["bob"], PEOPLE["sam"], PEOPLE["alice"]


def _order(store_url: str, clock: VirtualClock) -> None:
    with Client(store_url, clock=clock, worker=False) as app:
        app.register(ORDER)
        app.authorize("order", POLICY)
        app.start("order", "o-1", data=DATA)


def _as(store_url: str, clock: VirtualClock, who: object) -> Client:
    client = Client(store_url, clock=clock, worker=False, principal=who)  # type: ignore[arg-type]
    client.register(ORDER)
    client.authorize("order", POLICY)
    return client


def test_a_principals_client_refuses_the_operators_views(store_url: str,
                                                         clock: VirtualClock) -> None:
    if store_url.startswith("memory"):
        pytest.skip("a memory store lives and dies with its client: no second client sees it")
    _order(store_url, clock)
    with _as(store_url, clock, BOB) as bob:
        for view in (lambda: bob.history("o-1"), lambda: bob.audit(),
                     lambda: bob.audit(instance="o-1"), lambda: bob.dead_letters(),
                     lambda: bob.dead_letter(1)):
            with pytest.raises(OperatorsOnly, match="principal 'bob'"):
                view()
        assert bob.get("o-1").data == {"total": 42, "eta": "18:00"}  # the filtered read
    with _as(store_url, clock, ALICE) as alice:  # reads all of her own order
        assert [r.event for r in alice.history("o-1")] == ["statekeeper.start"]
        with pytest.raises(OperatorsOnly):
            alice.audit()  # across instances: not hers alone
    with _as(store_url, clock, SAM) as sam:  # reads everything, but is still a principal
        assert [r.event for r in sam.history("o-1")] == ["statekeeper.start"]
        with pytest.raises(OperatorsOnly):
            sam.dead_letters()
    with _as(store_url, clock, None) as app:  # the application's own client: all of it
        assert [r.instance for r in app.audit()] == ["o-1"]
        assert app.dead_letters() == []


def test_a_policy_that_restricts_no_reads_keeps_every_view(client: Client) -> None:
    door = Chart("door", initial="closed", states={"closed": State(on={"open": "opened"}),
                                                   "opened": State(on={"close": "closed"})})
    client.register(door)
    client.authorize("door", Policy(unlisted="allow"))
    client.principal = BOB
    client.start("door", "d-1")
    assert [r.actor for r in client.history("d-1")] == ["bob"]
    assert len(client.audit()) == 1 and client.dead_letters() == []


def test_the_async_client_refuses_them_too(store_url: str, clock: VirtualClock) -> None:
    async def run() -> list[str]:
        async with AsyncClient(store_url, clock=clock, worker=False, principal=BOB) as client:
            client.register(ORDER)
            client.authorize("order", POLICY)
            await client.start("order", "o-1", data=DATA)  # starts are not restricted here
            refused = []
            for name, view in (("history", lambda: client.history("o-1")),
                               ("audit", lambda: client.audit()),
                               ("dead_letters", lambda: client.dead_letters())):
                try:
                    await view()
                except OperatorsOnly:
                    refused.append(name)
            return refused

    assert asyncio.run(run()) == ["history", "audit", "dead_letters"]
