"""``receive``: envelopes through the clients and real stores.

A replayed envelope is answered from the idempotency mailbox and never stepped twice (also
across a restart of the client on a real SQLite file); the same key with another body is
refused; a refused envelope writes nothing; refusals are logged on ``statekeeper.envelopes``.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from statekeeper import (
    Allow,
    Assign,
    AsyncClient,
    Chart,
    Envelope,
    EnvelopeExpired,
    EnvelopeMalformed,
    EnvelopeReplayed,
    EnvelopeSignatureInvalid,
    EnvelopeVerifier,
    Final,
    InvalidVerifier,
    NotAuthorized,
    Policy,
    Principal,
    State,
    Transition,
    VirtualClock,
)
from statekeeper.client import Client

KEYS = {"old": b"the old key, retired next month", "new": b"the new key, which signs today."}
PAYMENTS = Chart("payment", initial="open", data={"paid": 0, "card": ""}, states={
    "open": State(on={"pay": Transition(actions=[Assign("paid", "add_amount")]),
                      "close": "closed"}),
    "closed": Final(),
})
PARTNER = Principal("acme", {"partner"})


def add_amount(data: dict[str, int], event: object) -> int:
    return data["paid"] + event.data["amount"]  # type: ignore[attr-defined]


def _register(client: Client | AsyncClient) -> None:
    client.register(PAYMENTS, functions={"add_amount": add_amount})


def _envelope(clock: VirtualClock, key: str = "k-1", amount: int = 5,
              instance: str = "p-1") -> bytes:
    return EnvelopeVerifier(KEYS).sign(Envelope(
        instance, "pay", {"amount": amount}, idempotency_key=key,
        issued_at=clock.now())).to_json()


def test_a_replayed_envelope_is_answered_from_the_mailbox(client: Client,
                                                          clock: VirtualClock) -> None:
    _register(client)
    client.start("payment", "p-1")
    verifier = EnvelopeVerifier(KEYS, max_age="10m")
    raw = _envelope(clock)
    first = client.receive(raw, verifier=verifier)
    assert (first.outcome, first.data["paid"]) == ("applied", 5)
    clock.advance(60)
    again = client.receive(raw, verifier=verifier)
    assert (again.outcome, again.data["paid"], again.rev) == ("duplicate", 5, first.rev)
    # a new envelope for the same request (the sender retried): the same answer
    retried = client.receive(_envelope(clock), verifier=verifier)
    assert (retried.outcome, retried.rev) == ("duplicate", first.rev)
    assert [r.event for r in client.history("p-1")].count("pay") == 1
    assert client.get("p-1").data["paid"] == 5


def test_the_same_key_with_another_body_is_refused(client: Client, clock: VirtualClock,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    _register(client)
    client.start("payment", "p-1")
    verifier = EnvelopeVerifier(KEYS)
    client.receive(_envelope(clock), verifier=verifier)
    before = client.history("p-1")
    with caplog.at_level(logging.WARNING, "statekeeper.envelopes"), \
            pytest.raises(EnvelopeReplayed, match="'k-1' was first used for other data"):
        client.receive(_envelope(clock, amount=500), verifier=verifier)
    assert client.history("p-1") == before
    assert client.get("p-1").data["paid"] == 5
    [record] = [r for r in caplog.records if r.name == "statekeeper.envelopes"]
    assert (record.instance, record.event, record.key_id, record.error) == (  # type: ignore[attr-defined]
        "p-1", "pay", "new", "EnvelopeReplayed")


@pytest.mark.parametrize("problem", ["tampered", "expired", "future", "unsigned", "retired",
                                     "reserved"])
def test_a_refused_envelope_writes_nothing(client: Client, clock: VirtualClock,
                                           caplog: pytest.LogCaptureFixture,
                                           problem: str) -> None:
    _register(client)
    client.start("payment", "p-1")
    verifier = EnvelopeVerifier({"new": KEYS["new"]}, max_age="5m", skew="30s")
    good = Envelope("p-1", "pay", {"amount": 5}, idempotency_key="k-1",
                    issued_at=clock.now())
    raw, error = {
        "tampered": (verifier.sign(good).to_json().replace(b'"amount":5', b'"amount":6'),
                     EnvelopeSignatureInvalid),
        "expired": (verifier.sign(good).to_json(), EnvelopeExpired),
        "future": (verifier.sign(Envelope("p-1", "pay", {"amount": 5}, idempotency_key="k-1",
                                          issued_at=clock.now() + 31)).to_json(),
                   EnvelopeExpired),
        "unsigned": (good.to_json(), EnvelopeSignatureInvalid),
        "retired": (good.sign("old", KEYS["old"]).to_json(), EnvelopeSignatureInvalid),
        "reserved": (verifier.sign(Envelope("p-1", "statekeeper.timer.x", None,
                                            idempotency_key="k-1",
                                            issued_at=clock.now())).to_json(),
                     EnvelopeMalformed),
    }[problem]
    if problem == "expired":
        clock.advance(301)
    before = (client.get("p-1"), client.history("p-1"))
    with caplog.at_level(logging.WARNING, "statekeeper.envelopes"), \
            pytest.raises(error, match="nothing was applied"):
        client.receive(raw, verifier=verifier)
    assert (client.get("p-1"), client.history("p-1")) == before
    assert client.store.mailbox("p-1", "k-1") is None  # the key stays free
    [record] = [r for r in caplog.records if r.name == "statekeeper.envelopes"]
    assert (record.levelno, record.outcome) == (logging.WARNING, "refused")  # type: ignore[attr-defined]


def test_replays_are_caught_across_a_restart_on_a_sqlite_file(tmp_path: Path) -> None:
    clock = VirtualClock(1_800_000_000.0)
    url = f"sqlite:///{tmp_path / 'payments.db'}"
    verifier = EnvelopeVerifier(KEYS, max_age="1h")
    raw = _envelope(clock)
    with Client(url, clock=clock, worker=False) as first:
        _register(first)
        first.start("payment", "p-1")
        assert first.receive(raw, verifier=verifier).outcome == "applied"
    clock.advance(600)
    with Client(url, clock=clock, worker=False) as second:  # a new process's client
        _register(second)
        again = second.receive(raw, verifier=verifier)
        assert (again.outcome, again.data["paid"]) == ("duplicate", 5)
        with pytest.raises(EnvelopeReplayed):
            second.receive(_envelope(clock, amount=7), verifier=verifier)
        assert [r.event for r in second.history("p-1")].count("pay") == 1
        clock.advance(3_600)
        with pytest.raises(EnvelopeExpired):  # too old now: refused before the mailbox
            second.receive(raw, verifier=verifier)


def test_receive_is_a_send_for_its_principal(client: Client, clock: VirtualClock) -> None:
    _register(client)
    client.authorize("payment", Policy(events={"pay": {"partner"}}, public={"paid"},
                                       read=Allow(roles={"finance"})))
    client.start("payment", "p-1", data={"card": "4242"})
    verifier = EnvelopeVerifier(KEYS)
    with pytest.raises(NotAuthorized, match="'pay'"):
        client.receive(_envelope(clock), verifier=verifier)  # no principal: anonymous
    answer = client.receive(_envelope(clock), verifier=verifier, principal=PARTNER)
    assert answer.data == {"paid": 5}  # the partner may pay, not read the card
    assert client.history("p-1")[-1].actor == "acme"
    with pytest.raises(InvalidVerifier, match="takes an EnvelopeVerifier"):
        client.receive(_envelope(clock), verifier=KEYS)  # type: ignore[arg-type]


def test_the_async_client_receives_the_same(store_url: str, clock: VirtualClock) -> None:
    async def run() -> None:
        async with AsyncClient(store_url, clock=clock, worker=False) as client:
            _register(client)
            await client.start("payment", "p-1")
            verifier = EnvelopeVerifier(KEYS)
            raw = _envelope(clock)
            assert (await client.receive(raw, verifier=verifier)).outcome == "applied"
            assert (await client.receive(raw, verifier=verifier)).outcome == "duplicate"
            with pytest.raises(EnvelopeReplayed):
                await client.receive(_envelope(clock, amount=9), verifier=verifier)
            with pytest.raises(EnvelopeSignatureInvalid):
                await client.receive(raw.replace(b"k-1", b"k-2"), verifier=verifier)
            assert (await client.get("p-1")).data["paid"] == 5

    asyncio.run(run())
