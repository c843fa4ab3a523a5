"""Who may start an instance (``Policy(start=...)``), and versions registered after a policy.

A refused start creates nothing: no instance, so no log row; the refusal is a warning record
on ``statekeeper.authz`` and ``NotAuthorized``.  A version registered after its chart's policy
is checked against the policy on its own, so a renamed state is not left unprotected.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from statekeeper import Chart, Final, State, VirtualClock
from statekeeper.client import AsyncClient, Client
from statekeeper.runtime.authz import (
    START,
    Allow,
    InvalidPolicy,
    InvalidPrincipal,
    NotAuthorized,
    Policy,
    Principal,
)
from statekeeper.storage.base import UnknownInstance

ORDER = Chart("order", version=1, initial="placed", states={
    "placed": State(on={"cancel": "cancelled", "ship": "shipped"}),
    "shipped": State(on={"refund": "refunded"}),
    "cancelled": Final(), "refunded": Final(),
})
ALICE = Principal("alice", frozenset({"customer"}))
BOB = Principal("bob", frozenset({"customer"}))
CLERK = Principal("kim", frozenset({"clerk"}))


def own_order(principal: Principal, instance: Any) -> bool:
    return bool(instance.data.get("customer") == principal.id)


START_POLICY = Policy(events={"cancel": {"customer"}},
                      start=[Allow(roles={"customer"}, guard=own_order), Allow(roles={"clerk"})])


def test_the_start_matrix(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    client.register(ORDER)
    client.authorize("order", START_POLICY)
    caplog.set_level(logging.WARNING, logger="statekeeper.authz")
    with pytest.raises(NotAuthorized) as refused:
        client.start("order", "o-1", data={"customer": "alice"}, principal=BOB)
    assert refused.value.event == START and refused.value.principal == "bob"
    assert str(refused.value) == ("principal 'bob' may not start instance 'o-1': no rule "
                                  "allows it (roles: customer); nothing was applied")
    with pytest.raises(NotAuthorized, match=r"no principal was given .* who may start it"):
        client.start("order", "o-1", data={"customer": "alice"})
    with pytest.raises(UnknownInstance):  # nothing was created
        client.get("o-1")
    assert list(client.audit()) == []  # and nothing logged: there is no instance to log in
    (record, _) = [r for r in caplog.records if r.name == "statekeeper.authz"]
    assert (record.instance, record.event, record.actor, record.outcome) == (  # type: ignore[attr-defined]
        "o-1", START, "bob", "denied")
    assert client.start("order", "o-1", data={"customer": "alice"},
                        principal=ALICE).state == "placed"
    assert client.start("order", "o-2", data={"customer": "alice"},
                        principal=CLERK).state == "placed"
    assert [r.instance for r in client.audit(event=START)] == ["o-1", "o-2"]


def test_the_guard_sees_the_instance_as_asked_for(client: Client) -> None:
    seen: list[Any] = []

    def look(principal: Principal, instance: Any) -> bool:
        seen.append(instance)
        instance.data["customer"] = "mallory"  # its own copy: the start is not changed
        return True

    client.register(ORDER)
    client.authorize("order", Policy(start=Allow(guard=look), unlisted="allow"))
    data = {"customer": "alice", "items": [1, 2]}
    client.start("order", "o-1", data=data, labels={"city": "Oslo"}, principal=ALICE)
    (asked,) = seen
    assert (asked.id, asked.chart, asked.version, asked.configuration, asked.rev,
            asked.labels) == ("o-1", "order", "1", (), 0, {"city": "Oslo"})
    assert data == {"customer": "alice", "items": [1, 2]}
    assert client.get("o-1").data["customer"] == "alice"


def test_a_guard_that_raises_refuses_the_start(client: Client) -> None:
    def broken(principal: Principal, instance: Any) -> bool:
        raise KeyError("tenant")

    client.register(ORDER)
    client.authorize("order", Policy(start=Allow(guard=broken)))
    with pytest.raises(NotAuthorized, match="its guard failed"):
        client.start("order", "o-1", principal=ALICE)


def test_without_start_rules_anyone_starts(client: Client) -> None:
    client.register(ORDER)
    client.authorize("order", Policy(events={"cancel": {"customer"}}))
    assert client.start("order", "o-1").state == "placed"  # anonymous: not checked
    with pytest.raises(InvalidPrincipal, match="takes a Principal"):
        client.start("order", "o-2", principal="alice")  # type: ignore[arg-type]


def test_the_client_default_principal_starts(store_url: str, clock: VirtualClock) -> None:
    with Client(store_url, clock=clock, worker=False, principal=CLERK) as client:
        client.register(ORDER)
        client.authorize("order", Policy(start={"clerk"}, unlisted="allow"))
        assert client.start("order", "o-1").state == "placed"
        with pytest.raises(NotAuthorized):
            client.start("order", "o-2", principal=BOB)


def test_the_async_client_start(store_url: str, clock: VirtualClock) -> None:
    async def main() -> None:
        async with AsyncClient(store_url, clock=clock, worker=False) as client:
            client.register(ORDER)
            client.authorize("order", START_POLICY)
            with pytest.raises(NotAuthorized):
                await client.start("order", "o-1", data={"customer": "alice"}, principal=BOB)
            started = await client.start("order", "o-1", data={"customer": "alice"},
                                         principal=ALICE)
            assert started.state == "placed"

    asyncio.run(main())


@pytest.mark.parametrize(("start", "message"), [
    ("clerk", "Policy start= takes an Allow"),
    ([], "Policy start= takes an Allow"),
    (frozenset(), "Allow roles= is empty"),
])
def test_start_rules_of_the_wrong_shape(start: Any, message: str) -> None:
    with pytest.raises(InvalidPolicy, match=message):
        Policy(start=start)


def test_an_event_named_start_is_an_event() -> None:
    with pytest.raises(InvalidPolicy, match=r"Policy events\['start'\] takes"):
        Policy(events={"start": "clerk"})


# -- versions registered after the policy ----------------------------------------------------

V2_RENAMED = Chart("order", version=2, initial="placed", states={
    "placed": State(on={"cancel": "cancelled", "ship": "shipped"}),
    "shipped": State(on={"refund": "Refunded"}),
    "cancelled": Final(), "Refunded": Final(),
})
V2_NO_CANCEL = Chart("order", version=2, initial="placed", states={
    "placed": State(on={"ship": "shipped"}),
    "shipped": State(on={"refund": "refunded"}),
    "refunded": Final(),
})
V2_FITS = Chart("order", version=2, initial="placed", states={
    "placed": State(on={"cancel": "cancelled", "ship": "shipped", "hold": "placed"}),
    "shipped": State(on={"refund": "refunded"}),
    "cancelled": Final(), "refunded": Final(),
})
PROTECTING = Policy(events={"cancel": {"customer"}, "refund": {"clerk"}},
                    states={"refunded": {"manager"}})


@pytest.mark.parametrize(("chart", "message"), [
    (V2_RENAMED, "version 2 has no state 'refunded', which the chart's policy protects"),
    (V2_NO_CANCEL, "version 2 has no transition on event 'cancel', which the chart's policy"),
])
def test_a_version_after_the_policy_lacking_a_name_is_refused(client: Client, chart: Chart,
                                                             message: str) -> None:
    client.register(ORDER)
    client.authorize("order", PROTECTING)
    with pytest.raises(InvalidPolicy, match=message) as refused:
        client.register(chart)
    assert "register it before authorizing" in str(refused.value)
    assert client.registry.versions("order") == ["1"]  # nothing was registered
    assert client.start("order", "o-1").version == "1"


def test_a_version_after_the_policy_that_fits_is_registered(client: Client) -> None:
    client.register(ORDER)
    client.authorize("order", PROTECTING)
    client.register(V2_FITS)
    client.register(ORDER)  # the same version again: already checked with the policy
    started = client.start("order", "o-1")
    assert started.version == "2"
    with pytest.raises(NotAuthorized, match="does not name event 'hold'"):
        client.send("o-1", "hold", principal=CLERK)  # unlisted: denied, as on v1


def test_registering_every_version_first_lets_one_drop_a_name(client: Client) -> None:
    client.register(ORDER)
    client.register(V2_NO_CANCEL)
    client.authorize("order", PROTECTING)  # "cancel" is v1's: checked against the union
    assert client.start("order", "o-1").version == "2"
