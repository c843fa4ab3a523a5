"""Committed work wakes workers: outbox rows and timers send NOTIFY on the schema's channel.

The tests listen on a plain connection.  What a set of commits sent is read up to a marker
notification the test sends afterwards: a listener gets notifications in commit order, so
everything before the marker is what those commits sent (no waiting on a timeout).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from statekeeper import Chart, Effect, Final, State, VirtualClock
from statekeeper.client import Client
from statekeeper.storage.records import Commit, DeadLetterRecord, EffectFinish, EffectReopen

psycopg = pytest.importorskip("psycopg", reason="PostgreSQL tests need the postgres extra")
from psycopg import sql  # noqa: E402

from statekeeper.storage.postgres import wake_channel  # noqa: E402

pytestmark = pytest.mark.postgres

CHART = Chart("order", version=1, initial="placed", states={
    "placed": State(on={"accept": "charging", "wait": "waiting"}),
    "charging": State(entry=[Effect("charge")], on={"done.effect.charge": "paid"}),
    "waiting": State(after={"5s": "placed"}, on={"rearm": "waiting2"}),
    "waiting2": State(after={"7s": "placed"}),
    "paid": Final(),
})


@pytest.fixture
def listener(postgres_server: str, pg_schema: str) -> Iterator[Any]:
    conn = psycopg.connect(postgres_server, autocommit=True)
    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(wake_channel(pg_schema))))
    try:
        yield conn
    finally:
        conn.close()


def sent(listener: Any, postgres_server: str, pg_schema: str) -> list[str]:
    """The payloads notified since the last call, read up to a marker sent now."""
    with psycopg.connect(postgres_server, autocommit=True) as other:
        other.execute("SELECT pg_notify(%s, 'marker')", (wake_channel(pg_schema),))
    payloads = []
    for note in listener.notifies():
        if note.payload == "marker":
            return payloads
        payloads.append(note.payload)
    raise AssertionError("unreachable")


def test_effects_and_timers_notify_once_committed(pg_url: str, postgres_server: str,
                                                  pg_schema: str, listener: Any) -> None:
    with Client(pg_url, clock=VirtualClock(1000.0), worker=False) as client:
        client.register(CHART, effects={"charge": lambda args, key: None})
        client.start("order", "o-1")
        assert sent(listener, postgres_server, pg_schema) == [], "no work: no wake-up"
        client.send("o-1", "accept")
        assert sent(listener, postgres_server, pg_schema) == ["effects"]
        client.start("order", "o-2")
        client.send("o-2", "wait")
        assert sent(listener, postgres_server, pg_schema) == ["timer 1005"]


def test_nothing_is_sent_before_the_commit(pg_url: str, postgres_server: str,
                                           pg_schema: str, listener: Any) -> None:
    with Client(pg_url, clock=VirtualClock(1000.0), worker=False) as client:
        client.register(CHART, effects={"charge": lambda args, key: None})
        client.start("order", "o-1")
        with psycopg.connect(postgres_server, autocommit=True,
                             options=f"-c search_path={pg_schema}") as writer:
            with writer.transaction():
                writer.execute(
                    "INSERT INTO outbox (key, instance, name, args, status, attempts, "
                    "available_at, at_most_once, errors, created_at) VALUES "
                    "('k-1', 'o-1', 'charge', '{}', 'pending', 0, 1000, false, '[]', 1000)")
                assert sent(listener, postgres_server, pg_schema) == [], "not committed yet"
            assert sent(listener, postgres_server, pg_schema) == ["effects"]


def test_the_channel_fits_any_schema_name() -> None:
    longest = "s" * 63
    assert len(wake_channel(longest)) < 64
    assert wake_channel(longest) != wake_channel("s" * 62)


def test_a_failing_handler_does_not_end_listening(pg_url: str, postgres_server: str,
                                                  pg_schema: str) -> None:
    """Found in review: only driver errors were caught, so a handler's bug killed the
    listening thread for good, silently (no wake-ups, never the leader again)."""
    import threading

    from statekeeper.storage.postgres import PostgresStore
    from statekeeper.storage.signals import SignalHandlers

    calls: list[str] = []
    listening = threading.Event()
    second = threading.Event()

    def effects() -> None:
        calls.append("effects")
        if len(calls) == 1:
            raise RuntimeError("a bug in the handler")
        second.set()

    store = PostgresStore(pg_url)
    store.migrate()
    signals = store.open_signals(SignalHandlers(
        effects=effects, timer=lambda due: None, resync=listening.set, lead=False))
    try:
        assert listening.wait(10)
        with psycopg.connect(postgres_server, autocommit=True) as other:
            channel = wake_channel(pg_schema)
            other.execute("SELECT pg_notify(%s, 'effects')", (channel,))
            other.execute("SELECT pg_notify(%s, 'effects')", (channel,))
        assert second.wait(10), calls
        assert signals.listening
    finally:
        signals.close()
        store.close()


def test_an_effect_given_back_notifies_when_it_is_runnable(pg_url: str, postgres_server: str,
                                                           pg_schema: str, listener: Any) -> None:
    """A retry after its backoff, or a lease released on SIGTERM, makes a row pending again by
    an UPDATE: without a notification, another worker found it only at its next poll."""
    with Client(pg_url, clock=VirtualClock(1000.0), worker=False) as client:
        client.register(CHART, effects={"charge": lambda args, key: None})
        client.start("order", "o-1")
        client.send("o-1", "accept")
        store = client.store
        assert sent(listener, postgres_server, pg_schema) == ["effects"]
        [effect] = store.claim_effects("w1", 1000.0, 30.0)
        assert store.extend_lease(effect.key, "w1", 1040.0)
        assert sent(listener, postgres_server, pg_schema) == [], "claims and heartbeats: quiet"
        assert store.release_effect(effect.key, "w1", available_at=1003.5, error="boom")
        assert sent(listener, postgres_server, pg_schema) == ["effects 1003.5"]
        store.claim_effects("w2", 1004.0, 30.0)
        assert store.release_effect(effect.key, "w2", available_at=1004.0, error=None)
        assert sent(listener, postgres_server, pg_schema) == ["effects 1004"]
        store.claim_effects("w3", 1005.0, 30.0)
        record = store.load("o-1")
        letter = DeadLetterRecord("effect", "o-1", effect.key, {"name": "charge"}, ["x"], 1005.0)
        assert store.apply([Commit(record, record.rev, dead_letters=[letter],
                                   effect_finished=EffectFinish(effect.key, "dead", "x"))]) == []
        assert sent(listener, postgres_server, pg_schema) == [], "closed: nothing to run"
        record = store.load("o-1")
        assert store.apply([Commit(record, record.rev,
                                   effects_reopened=[EffectReopen(effect.key, 1010.0)])]) == []
        assert sent(listener, postgres_server, pg_schema) == ["effects 1010"]


def test_a_worker_is_told_when_a_released_effect_is_runnable(pg_url: str) -> None:
    import threading

    from statekeeper.storage.postgres import PostgresStore
    from statekeeper.storage.signals import SignalHandlers

    listening, told = threading.Event(), threading.Event()
    runnable_at: list[float] = []

    def effects_at(at: float) -> None:
        runnable_at.append(at)
        told.set()

    store = PostgresStore(pg_url)
    store.migrate()
    signals = store.open_signals(SignalHandlers(
        effects=lambda: None, timer=lambda due: None, resync=listening.set, lead=False,
        effects_at=effects_at))
    try:
        assert listening.wait(10)
        with Client(pg_url, clock=VirtualClock(1000.0), worker=False) as client:
            client.register(CHART, effects={"charge": lambda args, key: None})
            client.start("order", "o-1")
            client.send("o-1", "accept")
            [effect] = client.store.claim_effects("w1", 1000.0, 30.0)
            client.store.release_effect(effect.key, "w1", available_at=1002.0, error=None)
        assert told.wait(10)
        assert runnable_at == [1002.0]
    finally:
        signals.close()
        store.close()
