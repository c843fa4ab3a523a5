"""Per-event authorization: the matrix of roles x events x own/other order, on every store.

Real stores (``store_url``: memory, a SQLite file, PostgreSQL in a schema of the test's own)
and real steps committed by the engine.  The expected answers come from a table written out
by hand (``EXPECTED``), not from the policy code under test.
"""

from __future__ import annotations

import itertools
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from statekeeper import Chart, Final, State, VirtualClock
from statekeeper.client import Client
from statekeeper.core.errors import EventNotAccepted, MachineFinished
from statekeeper.runtime.authz import Allow, NotAuthorized, Policy, Principal
from statekeeper.runtime.state import InstanceState

ORDER = Chart("order", version=1, initial="placed", states={
    "placed": State(on={"cancel": "cancelled", "ship": "shipped", "poke": "placed"}),
    "shipped": State(on={"refund": "refunded", "deliver": "delivered"}),
    "cancelled": Final(),
    "refunded": Final(),
    "delivered": Final(),
})


def own_order(principal: Principal, instance: InstanceState) -> bool:
    return bool(instance.data.get("customer") == principal.id)


POLICY = Policy(
    events={
        "cancel": [Allow(roles=frozenset({"customer"}), guard=own_order),
                   Allow(roles=frozenset({"support"}))],
        "ship": {"warehouse"},
        "deliver": {"warehouse"},
        "refund": Allow(roles=frozenset({"support", "manager"})),
    },
    states={"refunded": {"manager"}},
)

PEOPLE: dict[str, Principal | None] = {
    "alice": Principal("alice", frozenset({"customer"})),
    "bob": Principal("bob", frozenset({"customer"})),
    "sam": Principal("sam", frozenset({"support"})),
    "wes": Principal("wes", frozenset({"warehouse"})),
    "mia": Principal("mia", frozenset({"manager"})),
    "nobody": Principal("nobody"),
    "anonymous": None,
}
#: (person, event, whose order) -> allowed; alice's order is "own" for alice only
EXPECTED = {
    ("alice", "cancel", "alice"): True, ("alice", "cancel", "carol"): False,
    ("bob", "cancel", "alice"): False, ("bob", "cancel", "carol"): False,
    ("sam", "cancel", "alice"): True, ("sam", "cancel", "carol"): True,
    ("wes", "ship", "alice"): True, ("wes", "ship", "carol"): True,
    ("mia", "refund", "alice"): True, ("mia", "refund", "carol"): True,
    # sam may send refund, but not enter "refunded": the sensitive state refuses him
    ("sam", "refund", "alice"): False, ("sam", "refund", "carol"): False,
    ("wes", "deliver", "alice"): True,
}
EVENTS = ("cancel", "ship", "refund", "poke")
TARGET = {"cancel": "cancelled", "ship": "shipped", "refund": "refunded", "poke": "placed"}


def _order(client: Client, instance: str, customer: str, event: str) -> None:
    client.start("order", instance, data={"customer": customer})
    if event == "refund":  # from "shipped": the warehouse ships it first
        client.send(instance, "ship", principal=PEOPLE["wes"])


def test_the_authorization_matrix(client: Client) -> None:
    client.register(ORDER)
    client.authorize("order", POLICY)
    denied = 0
    for number, (person, event, owner) in enumerate(
            itertools.product(PEOPLE, EVENTS, ("alice", "carol"))):
        instance = f"o-{number}"
        _order(client, instance, owner, event)
        before = client.get(instance)
        principal = PEOPLE[person]
        allowed = EXPECTED.get((person, event, owner), False)
        if allowed:
            after = client.send(instance, event, principal=principal)
            assert after.state == TARGET[event], (person, event, owner)
            assert client.history(instance)[-1].actor == person  # the principal is the actor
            continue
        denied += 1
        with pytest.raises(NotAuthorized) as info:
            client.send(instance, event, principal=principal)
        assert info.value.event == event and info.value.instance == instance
        assert info.value.principal == (None if principal is None else person)
        now = client.get(instance)
        # nothing applied: same configuration and data; the rev moved by the log row alone
        assert (now.configuration, now.data, now.rev) == (
            before.configuration, before.data, before.rev + 1), (person, event, owner)
        row = client.history(instance)[-1]
        assert (row.outcome, row.event, row.actor) == (
            "denied", event, None if principal is None else person)
        assert row.source == row.target == before.configuration
        assert row.reason
    found = client.audit(outcome="denied", limit=1000)
    assert len(found) == denied > 0
    assert {r.outcome for r in client.audit(actor="sam", limit=1000)} == {"applied", "denied"}


def test_without_a_policy_nothing_changes(client: Client) -> None:
    client.register(ORDER)
    client.start("order", "o-1")
    assert client.send("o-1", "ship").state == "shipped"  # anonymous, unchecked
    assert client.history("o-1")[-1].actor is None
    client.authorize("order", POLICY)
    client.authorize("order", None)  # and taken away again
    assert client.send("o-1", "deliver").state == "delivered"


def test_the_client_default_principal(store_url: str, clock: VirtualClock) -> None:
    with Client(store_url, clock=clock, worker=False, principal=PEOPLE["wes"]) as client:
        client.register(ORDER)
        client.authorize("order", POLICY)
        client.start("order", "o-1", data={"customer": "alice"})
        assert client.send("o-1", "ship").state == "shipped"
        assert client.history("o-1")[-1].actor == "wes"
        with pytest.raises(NotAuthorized):  # a principal per call wins over the default
            client.send("o-1", "deliver", principal=PEOPLE["alice"])
        assert client.history("o-1")[-1].actor == "alice"


def test_an_unlisted_event_is_denied_unless_the_policy_allows_it(client: Client) -> None:
    client.register(ORDER)
    client.authorize("order", POLICY)
    client.start("order", "o-1")
    with pytest.raises(NotAuthorized, match="does not name event 'poke'"):
        client.send("o-1", "poke", principal=PEOPLE["mia"])
    client.authorize("order", Policy(events={"cancel": {"support"}}, unlisted="allow"))
    assert client.send("o-1", "poke").outcome == "applied"  # anyone, even anonymous
    with pytest.raises(NotAuthorized):
        client.send("o-1", "cancel")


def test_a_name_is_looked_up_as_scxml_matches_descriptors(client: Client) -> None:
    chart = Chart("job", version=1, initial="idle", states={
        "idle": State(on={"stop": "stopped"}), "stopped": Final()})
    client.register(chart)
    client.authorize("job", Policy(events={"stop": {"ops"}}))
    client.start("job", "j-1")
    with pytest.raises(NotAuthorized):
        client.send("j-1", "stop.now", principal=Principal("eve", frozenset({"dev"})))
    assert client.send("j-1", "stop.now", principal=Principal("oz", frozenset({"ops"}))
                       ).state == "stopped"


def test_a_guard_that_raises_refuses(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    def broken(principal: Principal, instance: InstanceState) -> bool:
        raise KeyError("card 4242-4242-4242-4242")  # what a guard's error may hold

    client.register(ORDER)
    client.authorize("order", Policy(events={"cancel": Allow(guard=broken)}))
    client.start("order", "o-1")
    with caplog.at_level(logging.WARNING, logger="statekeeper.authz"), \
            pytest.raises(NotAuthorized, match=r"its guard failed \(KeyError;") as refused:
        client.send("o-1", "cancel", principal=PEOPLE["alice"])
    assert "4242" not in str(refused.value)  # the caller is not told the guard's error text
    assert client.get("o-1").state == "placed"
    traceback = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert traceback and "4242" in caplog.text  # the operators' log has all of it


def test_a_refusal_is_a_structured_log_record(client: Client,
                                              caplog: pytest.LogCaptureFixture) -> None:
    client.register(ORDER)
    client.authorize("order", POLICY)
    client.start("order", "o-1", data={"customer": "alice"})
    with caplog.at_level(logging.WARNING, logger="statekeeper.authz"), \
            pytest.raises(NotAuthorized):
        client.send("o-1", "cancel", principal=PEOPLE["bob"])
    (record,) = [r for r in caplog.records if r.name == "statekeeper.authz"]
    assert record.levelno == logging.WARNING
    fields = {k: getattr(record, k) for k in ("instance", "chart", "event", "actor", "outcome")}
    assert fields == {"instance": "o-1", "chart": "order", "event": "cancel", "actor": "bob",
                      "outcome": "denied"}


def test_a_denied_key_is_free_for_an_allowed_send(client: Client) -> None:
    client.register(ORDER)
    client.authorize("order", POLICY)
    client.start("order", "o-1", data={"customer": "alice"})
    with pytest.raises(NotAuthorized):
        client.send("o-1", "cancel", idempotency_key="k-1", principal=PEOPLE["bob"])
    done = client.send("o-1", "cancel", idempotency_key="k-1", principal=PEOPLE["alice"])
    assert done.state == "cancelled"
    # a repeat of the key by someone the policy refuses is refused too: the first result is
    # not handed to them
    with pytest.raises(NotAuthorized):
        client.send("o-1", "cancel", idempotency_key="k-1", principal=PEOPLE["bob"])
    again = client.send("o-1", "cancel", idempotency_key="k-1", principal=PEOPLE["alice"])
    assert again.outcome == "duplicate"


ROLES = ("customer", "support", "warehouse", "manager")
LIFE = {  # the order's chart, by hand: (state, event) -> target
    ("placed", "cancel"): "cancelled", ("placed", "ship"): "shipped",
    ("placed", "poke"): "placed", ("shipped", "refund"): "refunded",
    ("shipped", "deliver"): "delivered",
}


def _may_send(roles: frozenset[str], who: str, event: str) -> bool:
    """What POLICY's events say, worked out by hand (every order here is "alice"'s)."""
    if event == "cancel":
        return "support" in roles or ("customer" in roles and who == "alice")
    if event in ("ship", "deliver"):
        return "warehouse" in roles
    if event == "refund":
        return bool(roles & {"support", "manager"})
    return False  # "poke" is not in the policy


@given(st.lists(st.tuples(st.sampled_from(["alice", "bob"]),
                          st.frozensets(st.sampled_from(ROLES), max_size=2),
                          st.sampled_from(["cancel", "ship", "refund", "deliver", "poke"])),
                max_size=12))
@settings(max_examples=40, deadline=None)
def test_a_refusal_never_changes_the_instance(sends: list[tuple[str, frozenset[str], str]]
                                              ) -> None:
    with Client("memory://", clock=VirtualClock(1_000.0), worker=False) as client:
        client.register(ORDER)
        client.authorize("order", POLICY)
        client.start("order", "o-1", data={"customer": "alice"})
        refused = []
        for who, roles, event in sends:
            before = client.get("o-1")
            target = LIFE.get((before.state, event)) if before.status == "active" else None
            expected: type[Exception] | None = None
            if not _may_send(roles, who, event):
                expected = NotAuthorized  # before the step: even on a finished order
            elif target is None:
                expected = EventNotAccepted if before.status == "active" else MachineFinished
            elif target == "refunded" and "manager" not in roles:
                expected = NotAuthorized  # the sensitive state, after the step
            if expected is None:
                assert client.send("o-1", event, principal=Principal(who, roles)).state == target
                continue
            with pytest.raises(expected):
                client.send("o-1", event, principal=Principal(who, roles))
            after = client.get("o-1")
            assert (after.configuration, after.data) == (before.configuration, before.data)
            if expected is NotAuthorized:
                refused.append(who)
        assert [r.actor for r in client.audit(outcome="denied", limit=100)] == refused


def test_a_principal_survives_pickling() -> None:
    """A principal crosses process boundaries (a worker pool, a queue) intact."""
    import pickle

    principal = Principal("alice", {"customer", "vip"}, {"tenant": "eu", "limits": [1, 2]})
    copy = pickle.loads(pickle.dumps(principal))
    assert copy == principal
    assert copy.roles == frozenset({"customer", "vip"})
    assert dict(copy.attributes) == {"tenant": "eu", "limits": [1, 2]}
    with pytest.raises(TypeError):
        copy.attributes["tenant"] = "us"  # type: ignore[index]
