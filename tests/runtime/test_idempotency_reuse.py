"""An idempotency key names one request: reused for another event, it is refused.

Stripe's rule, and the usual one: a repeat of the same request (same event name, same data)
gets the first result and changes nothing; the same key with another event or other data is
a caller's bug (two requests sharing a key), answered with :class:`IdempotencyKeyReused`
instead of a silent "duplicate" that would hide that the second request never ran.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from statekeeper import Chart, Final, IdempotencyKeyReused, State, StatekeeperError
from statekeeper.client import AsyncClient, Client
from statekeeper.core.events import Event

TILL = Chart("till", version=1, initial="open", states={
    "open": State(on={"pay": "open", "refund": "open", "close": "closed"}),
    "closed": Final(),
})


def _history(client: Client) -> list[tuple[str, Any]]:
    return [(r.event, r.data) for r in client.history("t-1")]


def test_a_true_repeat_returns_the_first_result(client: Client) -> None:
    client.register(TILL)
    client.start("till", "t-1")
    first = client.send("t-1", "pay", {"amount": 5, "items": [1, 2]}, idempotency_key="k")
    # the same data built in another order is the same request
    again = client.send("t-1", Event("pay", {"items": [1, 2], "amount": 5}),
                        idempotency_key="k")
    assert again.outcome == "duplicate" and again.rev == first.rev


@pytest.mark.parametrize(("event", "data"), [
    ("refund", {"amount": 5}),        # another event
    ("pay", {"amount": 6}),           # other data
    ("pay", None),                    # no data where there was some
    ("pay", {"amount": 5.5}),
    ("pay", {"amount": 5, "x": 1}),
])
def test_a_key_reused_for_another_request_is_refused(client: Client, event: str,
                                                     data: Any) -> None:
    client.register(TILL)
    client.start("till", "t-1")
    client.send("t-1", "pay", {"amount": 5}, idempotency_key="k")
    before = _history(client)
    with pytest.raises(IdempotencyKeyReused, match=r"'k'.*'t-1'.*'pay'") as info:
        client.send("t-1", event, data, idempotency_key="k")
    assert isinstance(info.value, StatekeeperError) and isinstance(info.value, ValueError)
    assert "new idempotency key" in str(info.value)
    assert (info.value.instance_id, info.value.key) == ("t-1", "k")
    assert _history(client) == before
    # the first request's repeat still answers, and other keys still work
    assert client.send("t-1", "pay", {"amount": 5}, idempotency_key="k").outcome == "duplicate"
    assert client.send("t-1", event, data, idempotency_key="k2").outcome == "applied"


def test_a_key_of_one_instance_is_free_on_another(client: Client) -> None:
    client.register(TILL)
    client.start("till", "t-1")
    client.start("till", "t-2")
    client.send("t-1", "pay", {"amount": 5}, idempotency_key="k")
    assert client.send("t-2", "refund", idempotency_key="k").outcome == "applied"


def test_an_ignored_first_request_is_remembered_with_its_content(client: Client) -> None:
    client.register(Chart("till2", version=1, initial="open", states={
        "open": State(on={"close": "closed"}), "closed": State(ignore=["close"], on={"open": "open"}),
    }))
    client.start("till2", "t-1")
    client.send("t-1", "close")
    assert client.send("t-1", "close", {"why": "again"}, idempotency_key="k").outcome == "ignored"
    with pytest.raises(IdempotencyKeyReused):
        client.send("t-1", "close", {"why": "other"}, idempotency_key="k")


def test_the_same_key_twice_in_one_group_is_checked_too(client: Client) -> None:
    client.register(TILL)
    client.start("till", "t-1")
    first = client.send("t-1", "pay", {"amount": 1}, idempotency_key="k", wait=False)
    same = client.send("t-1", "pay", {"amount": 1}, idempotency_key="k", wait=False)
    other = client.send("t-1", "pay", {"amount": 2}, idempotency_key="k", wait=False)
    assert first.result(5).outcome == "applied"
    assert same.result(5).outcome == "duplicate"
    with pytest.raises(IdempotencyKeyReused):
        other.result(5)
    assert [e for e, _ in _history(client)] == ["statekeeper.start", "pay"]


def test_the_async_client_refuses_it_the_same_way(store_url: str) -> None:
    async def main() -> None:
        async with AsyncClient(store_url, worker=False) as client:
            client.register(TILL)
            await client.start("till", "t-1")
            await client.send("t-1", "pay", {"amount": 5}, idempotency_key="k")
            again = await client.send("t-1", "pay", {"amount": 5}, idempotency_key="k")
            assert again.outcome == "duplicate"
            with pytest.raises(IdempotencyKeyReused):
                await client.send("t-1", "pay", {"amount": 9}, idempotency_key="k")
            with pytest.raises(IdempotencyKeyReused):
                await (await client.send("t-1", "close", idempotency_key="k", wait=False))
            assert len(await client.history("t-1")) == 2

    asyncio.run(main())


def test_the_content_is_remembered_in_the_file(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'till.db'}"
    with Client(url, worker=False) as client:
        client.register(TILL)
        client.start("till", "t-1")
        client.send("t-1", "pay", {"amount": 5}, idempotency_key="k")
    with Client(url, worker=False) as client:  # a new process: nothing cached
        client.register(TILL)
        assert client.send("t-1", "pay", {"amount": 5}, idempotency_key="k").outcome == \
            "duplicate"
        with pytest.raises(IdempotencyKeyReused):
            client.send("t-1", "pay", {"amount": 7}, idempotency_key="k")


def test_a_row_written_before_fingerprints_is_checked_by_event_name(client: Client) -> None:
    """A mailbox row of an older release holds no fingerprint: the event name still counts."""
    from statekeeper.storage.records import Commit, MailboxRecord

    client.register(TILL)
    state = client.start("till", "t-1")
    record = client.store.load("t-1")
    old = MailboxRecord(instance="t-1", key="old", event="pay", result=state.to_dict(), at=1.0)
    client.engine.flush()
    assert client.store.apply([Commit(record, record.rev, [], mailbox=old)]) == []
    client.engine._cache.clear()
    assert client.send("t-1", "pay", {"any": 1}, idempotency_key="old").outcome == "duplicate"
    with pytest.raises(IdempotencyKeyReused):
        client.send("t-1", "refund", idempotency_key="old")


def test_the_fingerprint_tells_content_apart_and_never_fails() -> None:
    from statekeeper.runtime.idempotency import fingerprint

    same = [fingerprint(Event("pay", {"a": 1, "b": [2]})),
            fingerprint(Event("pay", {"b": [2], "a": 1}))]
    assert same[0] == same[1] and len(same[0]) == 24
    different = {fingerprint(Event(name, data)) for name, data in [
        ("pay", None), ("pay", "null"), ("pay", 1), ("pay", 1.0), ("pay", True), ("pay", "1"),
        ("pay\n1", None), ("pa", "y"), ("pay", {1: 2}), ("pay", {"1": 3}), ("pay", "\ud800"),
        ("pay", {"x", "y"}), ("pay", {1: 2, "a": 3})]}  # the last two: not JSON, no raise
    assert len(different) == 13
