"""Every client method refuses a malformed argument the same way, naming it, storing nothing.

``send(123, ...)`` used to answer "no instance 123" while ``start(..., 123)`` said "must be a
non-empty string"; a lone surrogate in an id reached SQLite as a raw ``UnicodeEncodeError``.
Now each method of both clients refuses an id, event name, key, actor, trace id, state or
label of the wrong type with :class:`ArgumentTypeError` (a ``TypeError``) and a value that
cannot be stored (empty, a lone surrogate) with :class:`InvalidArgument` (a ``ValueError``),
both naming the method and the argument, before anything is queued.  A bounded Hypothesis
fuzz over the arguments checks "a named error or a valid result, and nothing stored changed".
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statekeeper import (
    ArgumentTypeError,
    Chart,
    Event,
    EventNotAccepted,
    InvalidArgument,
    State,
    StatekeeperError,
)
from statekeeper.client import AsyncClient, Client

LAMP = Chart("lamp", version=1, initial="off", states={
    "off": State(on={"flip": "on"}),
    "on": State(on={"flip": "off"}),
})

# (call, argument named in the message)
BAD_TYPES: list[tuple[Callable[[Client], Any], str]] = [
    (lambda c: c.send(123, "flip"), "instance_id"),
    (lambda c: c.send(None, "flip"), "instance_id"),
    (lambda c: c.send(b"l-1", "flip"), "instance_id"),
    (lambda c: c.start("lamp", 123), "instance_id"),
    (lambda c: c.start(123, "l-2"), "chart"),
    (lambda c: c.get(123), "instance_id"),
    (lambda c: c.history(1.5), "instance_id"),
    (lambda c: c.when(123, "on", timeout=0), "instance_id"),
    (lambda c: c.when("l-1", 5, timeout=0), "state"),
    (lambda c: c.watch(123), "instance_id"),
    (lambda c: c.dead_letters(123), "instance_id"),
    (lambda c: c.send("l-1", 123), "event"),
    (lambda c: c.send("l-1", Event(123)), "event"),  # type: ignore[arg-type]
    (lambda c: c.send("l-1", "flip", idempotency_key=5), "idempotency_key"),
    (lambda c: c.send("l-1", "flip", actor=["ops"]), "actor"),
    (lambda c: c.send("l-1", "flip", trace_id=7), "trace_id"),
    (lambda c: c.send("l-1", "flip", wait="no"), "wait"),
    (lambda c: c.replay_dead_letter(1, actor=5), "actor"),
    (lambda c: c.discard_dead_letter(1, actor=5), "actor"),
    (lambda c: c.start("lamp", "l-2", labels={"region": 1}), "labels"),
]

BAD_VALUES: list[tuple[Callable[[Client], Any], str]] = [
    (lambda c: c.send("", "flip"), "instance_id"),
    (lambda c: c.start("lamp", ""), "instance_id"),
    (lambda c: c.get(""), "instance_id"),
    (lambda c: c.send("l-\ud800", "flip"), "instance_id"),
    (lambda c: c.start("lamp", "\udfff"), "instance_id"),
    (lambda c: c.get("\ud800"), "instance_id"),
    (lambda c: c.history("\ud800"), "instance_id"),
    (lambda c: c.send("l-1", "fl\ud800ip"), "event"),
    (lambda c: c.send("l-1", ""), "event"),
    (lambda c: c.send("l-1", "flip", idempotency_key=""), "idempotency_key"),
    (lambda c: c.send("l-1", "flip", idempotency_key="\ud800"), "idempotency_key"),
    (lambda c: c.send("l-1", "flip", actor="\ud800"), "actor"),
    (lambda c: c.send("l-1", "flip", trace_id="t\udc80"), "trace_id"),
    (lambda c: c.start("lamp", "l-2", labels={"region": "\ud800"}), "labels"),
    (lambda c: c.send("l-1", Event("flip"), {"extra": 1}), "data"),
]


def _stored(client: Client) -> Any:
    """Everything a caller could see of the store: each instance's row and log."""
    ids = sorted(r.id for r in client.store.query(limit=10_000))
    return [(client.store.load(i), client.store.history(i)) for i in ids]


@pytest.mark.parametrize(("call", "argument"), BAD_TYPES)
def test_a_wrong_type_is_a_type_error_naming_the_argument(
        client: Client, call: Callable[[Client], Any], argument: str) -> None:
    client.register(LAMP)
    client.start("lamp", "l-1")
    before = _stored(client)
    with pytest.raises(ArgumentTypeError, match=rf"\b{argument}\b") as info:
        call(client)
    assert isinstance(info.value, TypeError) and isinstance(info.value, StatekeeperError)
    assert _stored(client) == before


@pytest.mark.parametrize(("call", "argument"), BAD_VALUES)
def test_a_value_that_cannot_be_stored_is_refused_naming_the_argument(
        client: Client, call: Callable[[Client], Any], argument: str) -> None:
    client.register(LAMP)
    client.start("lamp", "l-1")
    before = _stored(client)
    with pytest.raises(InvalidArgument, match=rf"\b{argument}\b") as info:
        call(client)
    assert isinstance(info.value, ValueError) and isinstance(info.value, StatekeeperError)
    assert _stored(client) == before


def test_the_async_client_refuses_the_same_arguments(store_url: str) -> None:
    async def main() -> None:
        async with AsyncClient(store_url, worker=False) as client:
            client.register(LAMP)
            await client.start("lamp", "l-1")
            for call in (lambda: client.send(123, "flip"), lambda: client.start("lamp", 123),
                         lambda: client.get(123), lambda: client.history(None),
                         lambda: client.when(123, "on"), lambda: client.dead_letters(5),
                         lambda: client.send("l-1", "flip", wait=1)):
                with pytest.raises(ArgumentTypeError, match=r"instance_id|wait"):
                    await call()
            with pytest.raises(ArgumentTypeError, match="instance_id"):
                client.watch(123)
            for call in (lambda: client.send("\ud800", "flip"), lambda: client.get(""),
                         lambda: client.send("l-1", "flip", idempotency_key="\udfff")):
                with pytest.raises(InvalidArgument):
                    await call()
            assert [r.event for r in await client.history("l-1")] == ["statekeeper.start"]

    asyncio.run(main())


def test_a_str_subclass_is_a_string(client: Client) -> None:
    import enum

    class Events(enum.StrEnum):
        FLIP = "flip"

    client.register(LAMP)
    client.start("lamp", "l-1")
    assert client.send("l-1", Events.FLIP).state == "on"


# -- fuzz: a named error or a valid result, and nothing stored changed on error ------------------

_odd_text = st.one_of(
    st.text(st.characters(blacklist_categories=()), max_size=12),  # surrogates, controls
    st.sampled_from(["", " ", "\x00", "l-1", "flip", "statekeeper.start", "done.state.x",
                     "\u202e", "l-1\n", "\ud800", "a\udfffb"]),
    st.text(max_size=3).map(lambda s: s * 3000),                    # very long
)
_odd = st.one_of(_odd_text, st.none(), st.integers(), st.floats(), st.binary(max_size=8),
                 st.booleans(), st.lists(st.integers(), max_size=2),
                 st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
_id = st.one_of(st.just("l-1"), _odd)
_calls = st.one_of(
    st.tuples(st.just("send"), _id, st.one_of(st.just("flip"), _odd),
              st.one_of(st.none(), _odd), st.one_of(st.none(), _odd)),
    st.tuples(st.just("start"), st.one_of(st.just("lamp"), _odd), _id),
    st.tuples(st.just("get"), _id),
    st.tuples(st.just("history"), _id),
    st.tuples(st.just("when"), _id, st.one_of(st.just("on"), _odd)),
    st.tuples(st.just("dead_letters"), _id),
)


def _call(client: Client, call: tuple[Any, ...]) -> Any:
    kind, *args = call
    if kind == "send":
        instance, event, key, actor = args
        return client.send(instance, event, idempotency_key=key, actor=actor)
    if kind == "when":
        return client.when(args[0], args[1], timeout=0)
    return getattr(client, kind)(*args)


def _fuzz(client: Client, calls: list[tuple[Any, ...]]) -> None:
    for call in calls:
        before = _stored(client)
        try:
            _call(client, call)
        except EventNotAccepted:  # recorded as rejected in the log; the state is unchanged
            after = _stored(client)
            assert [(r.id, r.configuration, r.status) for r, _ in after] == [
                (r.id, r.configuration, r.status) for r, _ in before]
            added = [a[len(b):] for (_, a), (_, b) in zip(after, before, strict=True)]
            assert all(a[:len(b)] == b for (_, a), (_, b) in zip(after, before, strict=True))
            assert [r.outcome for rows in added for r in rows] == ["rejected"]
        except TimeoutError:  # when(..., timeout=0) on a state not active: nothing written
            assert _stored(client) == before
        except StatekeeperError:
            assert _stored(client) == before, call
        # anything else (a raw KeyError, UnicodeEncodeError, AttributeError...) fails the test


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_fuzz_client_arguments(store: str, tmp_path: Any) -> None:
    url = "memory://" if store == "memory" else f"sqlite:///{tmp_path / 'fuzz.db'}"
    with Client(url, worker=False) as client:
        client.register(LAMP)
        client.start("lamp", "l-1")

        @settings(max_examples=120, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(st.lists(_calls, min_size=1, max_size=4))
        def run(calls: list[tuple[Any, ...]]) -> None:
            _fuzz(client, calls)

        run()
        assert client.store.integrity_check() == []
