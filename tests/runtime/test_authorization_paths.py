"""Authorization on every path a caller's event takes, and what is refused at registration.

Paths: ``AsyncClient.send`` (waited for and not), the replay of a dead letter's event; and the
system's own events (timers, effect outcomes), which are not authorized again.  Bad input:
policies naming what the chart does not have, role sets of the wrong shape, principals of the
wrong shape.
"""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import pytest

from statekeeper import Chart, Effect, Final, State, Transition, VirtualClock
from statekeeper.client import AsyncClient, Client
from statekeeper.client.errors import InvalidArgument
from statekeeper.core.actions import Assign
from statekeeper.runtime.authz import (
    Allow,
    InvalidPolicy,
    InvalidPrincipal,
    NotAuthorized,
    Policy,
    Principal,
)
from statekeeper.runtime.registry import UnknownChart

ORDER = Chart("order", version=1, initial="placed", states={
    "placed": State(on={"pay": "charging", "cancel": "cancelled"}),
    "charging": State(entry=[Effect("charge")],
                      on={"done.effect.charge": "paid", "error.effect.charge": "placed"}),
    "paid": State(after={"1s": "archived"}),
    "archived": Final(),
    "cancelled": Final(),
})
CLERK = Principal("kim", frozenset({"clerk"}))
GUEST = Principal("gus", frozenset({"guest"}))
POLICY = Policy(events={"pay": {"clerk"}, "cancel": {"clerk"}}, states={"archived": {"admin"}})


def test_timers_and_effect_outcomes_are_not_authorized_again(client: Client) -> None:
    # "archived" needs an admin, and neither the effect's outcome nor the timer is named in
    # the policy: the system's own events still go through, started by the clerk's "pay"
    client.register(ORDER, effects={"charge": lambda args, key: {"ok": True}})
    client.authorize("order", POLICY)
    client.start("order", "o-1")
    client.send("o-1", "pay", principal=CLERK)
    client.worker.run_until_idle()
    assert client.get("o-1").state == "paid"
    client.clock.advance(2)  # type: ignore[attr-defined]
    client.worker.run_until_idle()
    assert client.get("o-1").state == "archived"
    assert [r.outcome for r in client.history("o-1")] == ["applied"] * 4


def test_the_async_client(store_url: str, clock: VirtualClock) -> None:
    async def main() -> None:
        async with AsyncClient(store_url, clock=clock, worker=False) as client:
            client.register(ORDER, effects={"charge": lambda args, key: None})
            client.authorize("order", POLICY)
            await client.start("order", "o-1")
            await client.start("order", "o-2")
            with pytest.raises(NotAuthorized):
                await client.send("o-1", "pay", principal=GUEST)
            with pytest.raises(NotAuthorized):
                await (await client.send("o-2", "cancel", principal=GUEST, wait=False))
            assert (await client.send("o-1", "pay", principal=CLERK)).state == "charging"
            later = await client.send("o-2", "cancel", principal=CLERK, wait=False)
            assert (await later).state == "cancelled"
            page = await client.audit(outcome="denied")
            assert [(r.instance, r.actor) for r in page] == [("o-1", "gus"), ("o-2", "gus")]

    asyncio.run(main())


STAMP = Chart("stamp", version=1, initial="idle", states={
    "idle": State(on={"go": "waiting"}),
    "waiting": State(after={"1s": Transition("done", actions=[Assign("at", expr="stamp")])}),
    "done": Final(),
}, data={"at": None})


def _a_dead_event(client: Client) -> tuple[int, str]:
    """A timer's event whose step could not be stored: a dead letter (its id, event name)."""
    client.register(STAMP, functions={"stamp": lambda data, event: datetime.datetime(2026, 1, 1)})
    client.start("stamp", "s-1")
    client.send("s-1", "go")
    client.clock.advance(2)  # type: ignore[attr-defined]
    client.worker.run_until_idle()
    (letter,) = client.dead_letters("s-1")
    assert letter.kind == "event" and letter.id is not None
    client.register(STAMP, functions={"stamp": lambda data, event: "2026-01-01"})  # fixed
    return letter.id, str(letter.payload["event"]["name"])


def test_replaying_a_dead_event_is_authorized(client: Client) -> None:
    letter, event = _a_dead_event(client)
    client.authorize("stamp", Policy(events={event: {"ops"}}))
    with pytest.raises(NotAuthorized):
        client.replay_dead_letter(letter, principal=GUEST)
    with pytest.raises(NotAuthorized):
        client.replay_dead_letter(letter, actor="someone")  # no principal at all
    assert [d.id for d in client.dead_letters("s-1")] == [letter]  # the letter stays
    assert client.get("s-1").state == "waiting"
    assert [r.actor for r in client.audit(outcome="denied")] == ["gus", "someone"]
    ops = Principal("olga", frozenset({"ops"}))
    assert client.replay_dead_letter(letter, principal=ops).state == "done"
    assert client.dead_letters() == []
    assert client.history("s-1")[-1].actor == "olga"


def test_replaying_a_dead_event_from_the_async_client(store_url: str,
                                                       clock: VirtualClock) -> None:
    if store_url == "memory://":
        pytest.skip("a memory store lives and dies with its client: no second client sees it")
    with Client(store_url, clock=clock, worker=False) as sync:
        letter, event = _a_dead_event(sync)

    async def main() -> None:
        async with AsyncClient(store_url, clock=clock, worker=False) as client:
            client.register(STAMP, functions={"stamp": lambda data, event: "2026-01-01"})
            client.authorize("stamp", Policy(events={event: {"ops"}}))
            with pytest.raises(NotAuthorized):
                await client.replay_dead_letter(letter, principal=GUEST)
            ops = Principal("olga", frozenset({"ops"}))
            assert (await client.replay_dead_letter(letter, principal=ops)).state == "done"

    asyncio.run(main())


@pytest.mark.parametrize(("policy", "message"), [
    (Policy(events={"refund": {"clerk"}}), "no transition on event 'refund'"),
    (Policy(events={"pay": {"clerk"}}, states={"payed": {"admin"}}), "no state 'payed'"),
    ({"pay": {"clerk"}}, "takes a Policy"),
])
def test_a_policy_naming_what_the_chart_lacks_is_refused(client: Client, policy: Any,
                                                        message: str) -> None:
    client.register(ORDER, effects={"charge": lambda args, key: None})
    with pytest.raises(InvalidPolicy, match=message):
        client.authorize("order", policy)
    client.start("order", "o-1")
    assert client.send("o-1", "cancel").state == "cancelled"  # no policy was registered


def test_a_policy_for_an_unregistered_chart_is_refused(client: Client) -> None:
    with pytest.raises(UnknownChart, match="register it before its policy"):
        client.authorize("order", POLICY)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Policy(events={"pay": "clerk"}), "takes an Allow"),
    (lambda: Allow(roles="clerk"), r"write \{'clerk'\} for one role"),  # type: ignore[arg-type]
    (lambda: Allow(roles=frozenset()), "nobody could pass"),
    (lambda: Allow(roles=frozenset({""})), "non-empty string"),
    (lambda: Allow(roles=frozenset({3})), "non-empty string"),  # type: ignore[arg-type]
    (lambda: Allow(guard="own"), "callable"),  # type: ignore[arg-type]
    (lambda: Policy(states={"paid": "admin"}), "set of role names"),
    (lambda: Policy(states={"paid": set()}), "name the roles"),
    (lambda: Policy(events={"": {"a"}}), "non-empty strings"),
    (lambda: Policy(unlisted="maybe"), "'deny' or 'allow'"),  # type: ignore[arg-type]
    (lambda: Policy(events={"pay": []}), "takes an Allow"),
])
def test_policies_of_the_wrong_shape(make: Any, message: str) -> None:
    with pytest.raises(InvalidPolicy, match=message):
        make()


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Principal(""), "non-empty string"),
    (lambda: Principal(7), "non-empty string"),  # type: ignore[arg-type]
    (lambda: Principal("a", roles="admin"), "set of role names"),  # type: ignore[arg-type]
    (lambda: Principal("a", roles=frozenset({None})), "non-empty string"),  # type: ignore[arg-type]
    (lambda: Principal("a", attributes=[1]), "mapping"),  # type: ignore[arg-type]
])
def test_principals_of_the_wrong_shape(make: Any, message: str) -> None:
    with pytest.raises(InvalidPrincipal, match=message):
        make()


def test_a_principal_is_read_only() -> None:
    attributes = {"tenant": "t-1"}
    principal = Principal("a", {"x"}, attributes)
    attributes["tenant"] = "t-2"
    assert principal.roles == frozenset({"x"}) and principal.attributes["tenant"] == "t-1"
    with pytest.raises(TypeError):
        principal.attributes["tenant"] = "t-3"  # type: ignore[index]
    assert hash(principal) == hash(Principal("a", frozenset({"x"})))


def test_bad_principal_arguments_to_send(client: Client) -> None:
    client.register(ORDER, effects={"charge": lambda args, key: None})
    client.authorize("order", POLICY)
    client.start("order", "o-1")
    with pytest.raises(InvalidPrincipal):
        client.send("o-1", "pay", principal="kim")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="is not the principal"):
        client.send("o-1", "pay", principal=CLERK, actor="someone-else")
    assert client.send("o-1", "pay", principal=CLERK, actor="kim").state == "charging"
    assert [r.outcome for r in client.history("o-1")] == ["applied", "applied"]  # no denials
    with pytest.raises(TypeError, match="takes a Principal"):
        Client("memory://", principal="kim")  # type: ignore[arg-type]


def test_a_sensitive_state_passed_through_counts_as_entered(client: Client) -> None:
    # "vault" is left at once by an eventless transition: entered all the same
    chart = Chart("bank", version=1, initial="lobby", states={
        "lobby": State(on={"walk": "vault"}),
        "vault": State(always="street"),
        "street": Final(),
    })
    client.register(chart)
    client.authorize("bank", Policy(events={"walk": Allow()}, states={"vault": {"banker"}}))
    client.start("bank", "b-1")
    with pytest.raises(NotAuthorized, match="entering state 'vault'"):
        client.send("b-1", "walk", principal=GUEST)
    assert client.get("b-1").state == "lobby"
    banker = Principal("ben", frozenset({"banker"}))
    assert client.send("b-1", "walk", principal=banker).state == "street"
