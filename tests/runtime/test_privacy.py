"""Public and private data: the matrix of principals x states x fields, on every store.

Real stores (``store_url``: memory, a SQLite file, PostgreSQL in a schema of the test's own)
and real committed steps.  What each principal should see is written out by hand
(``FULL``, ``NEUTRAL``, ``READERS``), not computed by the code under test.  Every read API
that takes a principal is checked: ``get``, ``query``, the answer of ``send`` (a fresh step
and a repeat answered from the mailbox), on both clients.
"""

from __future__ import annotations

import asyncio
import datetime
import itertools
import logging

import pytest

from statekeeper import (
    Allow,
    Assign,
    AsyncClient,
    Chart,
    InvalidPolicy,
    InvalidPrincipal,
    Parallel,
    Policy,
    Principal,
    State,
    Transition,
    VirtualClock,
)
from statekeeper.client import Client
from statekeeper.core.errors import EventNotAccepted
from statekeeper.runtime.state import InstanceState

ORDER = Chart("order", initial="placed", data={"customer": "", "total": 0, "card": "",
                                               "eta": ""}, states={
    "placed": State(on={"dispute": "disputed", "prep": "prep", "poke": Transition()}),
    "disputed": State(initial="review", on={"poke": Transition()}, states={
        "review": State(on={"decide": "closed"}), "closed": State(on={"reopen": "review"})}),
    "prep": Parallel(on={"poke": Transition()}, states={
        "kitchen": State(initial="cooking", states={"cooking": State(on={"cook": "cooked"}),
                                                    "cooked": State(on={"cook": "cooking"})}),
        "checks": State(initial="clear", states={"clear": State(on={"flag": "flagged"}),
                                                 "flagged": State(on={"clear": "clear"})}),
    }),
})


def own_order(principal: Principal, instance: InstanceState) -> bool:
    return bool(instance.data.get("customer") == principal.id)


POLICY = Policy(
    unlisted="allow",
    states={"disputed": {"support"}, "flagged": {"support", "warehouse"}},
    public={"total", "eta"},
    read=[Allow(roles={"customer"}, guard=own_order), Allow(roles={"support", "manager"})],
)

PEOPLE: dict[str, Principal | None] = {
    "alice": Principal("alice", {"customer"}),      # reads her own order
    "bob": Principal("bob", {"customer"}),          # someone else's: public fields only
    "sam": Principal("sam", {"support"}),
    "mia": Principal("mia", {"manager"}),
    "wes": Principal("wes", {"warehouse"}),          # may enter "flagged", may not read
    "nobody": Principal("nobody"),
    "application": None,                              # no principal: the trusted application
}
#: who sees everything of alice's order (by hand: alice by the guard, sam and mia by role)
READERS = {"alice", "sam", "mia", "application"}
DATA = {"customer": "alice", "total": 42, "card": "4242", "eta": "18:00"}
PUBLIC = {"total": 42, "eta": "18:00"}
#: the instance's state -> (the event that leads there, the configuration in full)
FULL = {
    "placed": (None, ("placed",)),
    "disputed": ("dispute", ("disputed", "review")),
    "flagged": ("flag", ("prep", "kitchen", "cooking", "checks", "flagged")),
}
#: what a principal without reading rights sees: a sensitive subtree is one "hidden"
NEUTRAL = {
    "placed": ("placed",),
    "disputed": ("hidden",),
    "flagged": ("prep", "kitchen", "cooking", "checks", "hidden"),
}
SAM = PEOPLE["sam"]


def _expected(person: str, state: str) -> tuple[dict[str, object], tuple[str, ...]]:
    if person in READERS:
        return DATA, FULL[state][1]
    return PUBLIC, NEUTRAL[state]


def _setup(client: Client) -> None:
    client.register(ORDER)
    client.authorize("order", POLICY)
    for state, (event, _) in FULL.items():
        client.start("order", f"o-{state}", data=DATA, labels={"city": "Oslo"})
        if state == "flagged":
            client.send(f"o-{state}", "prep", principal=SAM)
        if event is not None:
            client.send(f"o-{state}", event, idempotency_key=f"k-{state}", principal=SAM)


def _check(seen: InstanceState, person: str, state: str) -> None:
    data, configuration = _expected(person, state)
    assert (seen.data, seen.configuration) == (data, configuration), (person, state)
    assert seen.labels == ({"city": "Oslo"} if person in READERS else {})
    assert seen.id == f"o-{state}" and seen.chart == "order" and seen.status == "active"


def test_the_privacy_matrix(client: Client) -> None:
    _setup(client)
    for person, state in itertools.product(PEOPLE, FULL):
        who = PEOPLE[person]
        _check(client.get(f"o-{state}", principal=who), person, state)
        # a fresh step (a targetless "poke") answers with what the sender may read
        _check(client.send(f"o-{state}", "poke", principal=who), person, state)
        event = FULL[state][0]
        if event is not None and (who is not None or state == "placed"):
            # a repeat answered from the idempotency mailbox is filtered as well
            repeat = client.send(f"o-{state}", event, idempotency_key=f"k-{state}",
                                 principal=who)
            assert repeat.outcome == "duplicate"
            _check(repeat, person, state)
        page = client.query(chart="order", principal=who)
        assert [s.id for s in page] == sorted(f"o-{s}" for s in FULL)
        _check(next(s for s in page if s.id == f"o-{state}"), person, state)
    # nothing of the reads was written: the application still reads every field
    assert client.get("o-disputed").data == DATA


def test_queries_match_by_what_the_principal_sees(client: Client) -> None:
    _setup(client)
    bob, sam = PEOPLE["bob"], PEOPLE["sam"]
    assert [s.id for s in client.query(state="disputed", principal=sam)] == ["o-disputed"]
    assert list(client.query(state="disputed", principal=bob)) == []
    assert list(client.query(state="flagged", principal=bob)) == []
    assert [s.id for s in client.query(state="checks", principal=bob)] == ["o-flagged"]
    assert list(client.query(labels={"city": "Oslo"}, principal=bob)) == []
    assert len(client.query(labels={"city": "Oslo"}, principal=sam)) == 3


def test_a_query_page_is_filled_past_hidden_rows(client: Client) -> None:
    client.register(ORDER)
    client.authorize("order", POLICY)
    for n in range(7):
        client.start("order", f"o-{n}", data=DATA)
        if n % 2:
            client.send(f"o-{n}", "dispute", principal=SAM)
    bob = PEOPLE["bob"]
    pages, after = [], None
    while True:
        page = client.query(state="placed", limit=2, after=after, principal=bob)
        if not page:
            break
        pages.append([s.id for s in page])
        after = page[-1].id
    assert pages == [["o-0", "o-2"], ["o-4", "o-6"]]


def test_the_clients_default_principal_reads_too(store_url: str, clock: VirtualClock) -> None:
    with Client(store_url, clock=clock, worker=False, principal=PEOPLE["bob"]) as client:
        _setup_as(client)
        assert client.get("o-disputed").data == PUBLIC
        assert client.get("o-disputed", principal=PEOPLE["sam"]).data == DATA


def _setup_as(client: Client) -> None:
    client.register(ORDER)
    client.authorize("order", POLICY)
    client.start("order", "o-disputed", data=DATA)
    client.send("o-disputed", "dispute", principal=SAM)


def test_send_without_waiting_answers_the_filtered_state(client: Client) -> None:
    _setup_as(client)
    future = client.send("o-disputed", "poke", principal=PEOPLE["bob"], wait=False)
    assert future.result().configuration == ("hidden",)


def test_the_async_client_reads_the_same(store_url: str, clock: VirtualClock) -> None:
    async def run() -> None:
        async with AsyncClient(store_url, clock=clock, worker=False) as client:
            client.register(ORDER)
            client.authorize("order", POLICY)
            await client.start("order", "o-1", data=DATA)
            await client.send("o-1", "dispute", principal=SAM)
            bob = PEOPLE["bob"]
            seen = await client.get("o-1", principal=bob)
            assert (seen.data, seen.configuration) == (PUBLIC, ("hidden",))
            answer = await client.send("o-1", "poke", principal=bob)
            assert (answer.data, answer.configuration) == (PUBLIC, ("hidden",))
            later = await (await client.send("o-1", "poke", principal=bob, wait=False))
            assert later.configuration == ("hidden",)
            page = await client.query(principal=bob)
            assert [(s.id, s.data) for s in page] == [("o-1", PUBLIC)]
            assert (await client.get("o-1", principal=SAM)).data == DATA
            assert (await client.get("o-1")).configuration == ("disputed", "review")

    asyncio.run(run())


def test_reads_are_not_restricted_without_public_or_read(client: Client) -> None:
    client.register(ORDER)
    client.authorize("order", Policy(unlisted="allow", states={"disputed": {"support"}}))
    client.start("order", "o-1", data=DATA)
    client.send("o-1", "dispute", principal=SAM)
    seen = client.get("o-1", principal=PEOPLE["bob"])
    assert (seen.data, seen.configuration) == (DATA, ("disputed", "review"))


def test_public_alone_shows_only_those_fields_to_every_principal(client: Client) -> None:
    client.register(ORDER)
    client.authorize("order", Policy(unlisted="allow", public={"eta"}))
    client.start("order", "o-1", data=DATA)
    assert client.get("o-1", principal=PEOPLE["sam"]).data == {"eta": "18:00"}
    assert client.get("o-1").data == DATA


def test_a_failing_read_guard_shows_only_public_data(client: Client,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    def broken(principal: Principal, instance: InstanceState) -> bool:
        raise RuntimeError("lookup failed")

    client.register(ORDER)
    client.authorize("order", Policy(unlisted="allow", public={"total"},
                                     read=Allow(guard=broken)))
    client.start("order", "o-1", data=DATA)
    with caplog.at_level(logging.ERROR, "statekeeper.authz"):
        assert client.get("o-1", principal=PEOPLE["alice"]).data == {"total": 42}
    assert "read guard of chart 'order' failed for 'alice'" in caplog.text


def test_policies_that_cannot_restrict_reads_are_refused(client: Client) -> None:
    client.register(ORDER)
    with pytest.raises(InvalidPolicy, match=r"'adress'.*does not declare"):
        client.authorize("order", Policy(public={"adress"}))
    with pytest.raises(InvalidPolicy, match=r"write \{'eta'\}"):
        Policy(public="eta")
    with pytest.raises(InvalidPolicy, match=r"Policy read= takes"):
        Policy(read="support")
    with pytest.raises(InvalidPolicy, match="non-empty strings"):
        Policy(public={""})
    hidden = Chart("hiding", initial="hidden", states={"hidden": State(on={"go": "shown"}),
                                                       "shown": State(on={"go": "hidden"})})
    client.register(hidden)
    with pytest.raises(InvalidPolicy, match="named 'hidden'"):
        client.authorize("hiding", Policy(states={"shown": {"x"}}, public={"a"}))
    # no data model declared: any field name is taken
    client.authorize("hiding", Policy(public={"anything"}))
    with pytest.raises(InvalidPrincipal):
        client.get("o-1", principal="alice")  # type: ignore[arg-type]


def test_watches_show_each_change_as_the_principal_may_see_it(client: Client) -> None:
    _setup_as(client)
    with client.watch("o-disputed", timeout=5, principal=PEOPLE["bob"]) as changes, \
            client.watch("o-disputed", timeout=5, principal=SAM) as full:
        client.send("o-disputed", "poke", principal=SAM)
        client.send("o-disputed", "decide", principal=SAM)
        hidden = [(s.configuration, s.data) for _, s in zip(range(2), changes, strict=False)]
        shown = [s.configuration for _, s in zip(range(2), full, strict=False)]
    assert hidden == [(("hidden",), PUBLIC), (("hidden",), PUBLIC)]
    assert shown == [("disputed", "review"), ("disputed", "closed")]


def test_async_watches_filter_too(store_url: str, clock: VirtualClock) -> None:
    async def run() -> list[tuple[str, ...]]:
        async with AsyncClient(store_url, clock=clock, worker=False) as client:
            client.register(ORDER)
            client.authorize("order", POLICY)
            await client.start("order", "o-1", data=DATA)
            seen: list[tuple[str, ...]] = []

            async def follow() -> None:
                async for state in client.watch("o-1", principal=PEOPLE["bob"]):
                    seen.append(state.configuration)
                    assert state.data == PUBLIC
                    if len(seen) == 2:
                        return

            task = asyncio.create_task(follow())
            await asyncio.sleep(0)  # the subscription starts with the iteration
            await client.send("o-1", "dispute", principal=SAM)
            await client.send("o-1", "decide", principal=SAM)
            await asyncio.wait_for(task, 10)
            return seen

    assert asyncio.run(run()) == [("hidden",), ("hidden",)]


def test_a_refused_event_names_only_what_the_principal_may_see(client: Client) -> None:
    _setup_as(client)
    with pytest.raises(EventNotAccepted) as refused:
        client.send("o-disputed", "prep", principal=PEOPLE["bob"])
    assert refused.value.configuration == ("hidden",)
    assert "review" not in str(refused.value) and refused.value.__context__ is None
    with pytest.raises(EventNotAccepted) as full:
        client.send("o-disputed", "prep", principal=SAM)
    assert full.value.configuration == ("disputed", "review")


def test_the_async_client_hides_states_in_refusals(store_url: str,
                                                    clock: VirtualClock) -> None:
    async def run() -> None:
        async with AsyncClient(store_url, clock=clock, worker=False) as client:
            client.register(ORDER)
            client.authorize("order", POLICY)
            await client.start("order", "o-1", data=DATA)
            await client.send("o-1", "dispute", principal=SAM)
            with pytest.raises(EventNotAccepted) as refused:
                await client.send("o-1", "prep", principal=PEOPLE["bob"])
            assert refused.value.configuration == ("hidden",)
            with pytest.raises(EventNotAccepted) as full:
                await client.send("o-1", "prep", principal=SAM)
            assert full.value.configuration == ("disputed", "review")

    asyncio.run(run())


def test_a_replayed_dead_letter_answers_what_the_operator_may_read(client: Client) -> None:
    stamp = Chart("stamp", initial="idle", data={"at": None, "note": "private"}, states={
        "idle": State(on={"go": "waiting"}),
        "waiting": State(after={"1s": Transition("done", actions=[Assign("at", expr="stamp")])}),
        "done": State(on={"go": "waiting"}),
    })
    client.register(stamp, functions={"stamp": lambda data, event: datetime.datetime(2026, 1, 1)})
    client.start("stamp", "s-1")
    client.send("s-1", "go")
    client.clock.advance(2)  # type: ignore[attr-defined]
    client.worker.run_until_idle()
    (letter,) = client.dead_letters("s-1")  # the timer's step could not be stored
    client.register(stamp, functions={"stamp": lambda data, event: "2026-01-01"})
    client.authorize("stamp", Policy(unlisted="allow", public={"at"}, read={"auditor"}))
    assert letter.id is not None
    replayed = client.replay_dead_letter(letter.id, principal=Principal("olga", {"ops"}))
    assert (replayed.state, replayed.data) == ("done", {"at": "2026-01-01"})
    assert client.get("s-1", principal=Principal("ann", {"auditor"})).data["note"] == "private"
