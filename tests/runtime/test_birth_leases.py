"""New effects are leased to the process's running worker in the commit that writes them.

Before, each effect was claimed after its commit in a write transaction of its own (an fsync
at ``synchronous=FULL``) and its instance read again to find its function.  Now the outbox row
is written leased to the worker and handed to it once the commit is durable.  What must not
change: the effect runs after its commit, once, under its key; an at-most-once effect still
goes through the claim; effects handed over but never started are given back when the worker
closes, runnable at once and their attempt refunded, so another worker runs them.  Effects
handed while every slot is taken run next in a slot, by the thread holding it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from statekeeper import Chart, Final, State
from statekeeper.client import Client
from statekeeper.core.actions import Effect
from statekeeper.storage.records import EffectRecord
from statekeeper.storage.sqlite import SQLiteStore

WAIT = 30.0
POLL = 600.0  # the periodic claim never comes during a test


def job_chart() -> Chart:
    return Chart("job", initial="waiting", states={
        "waiting": State(on={"go": "working"}),
        "working": State(entry=[Effect("work")],
                         on={"done.effect.work": "finished"}),
        "finished": Final(),
    })  # fmt: skip


def counting_claims(client: Client, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    claims: list[int] = []
    claim = client.store.claim_effects

    def counted(owner: str, now: float, lease: float, *, limit: int = 100) -> list[EffectRecord]:
        found = claim(owner, now, lease, limit=limit)
        claims.append(len(found))
        return found

    monkeypatch.setattr(client.store, "claim_effects", counted)
    return claims


def test_a_new_effect_runs_without_a_claim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys: list[str] = []

    def work(args: Any, key: str) -> str:
        keys.append(key)
        return key

    with Client(f"sqlite:///{tmp_path / 'jobs.db'}", poll=POLL) as client:
        client.register(job_chart(), effects={"work": work})
        client.start("job", "j-1")
        client.engine.flush()
        claims = counting_claims(client, monkeypatch)
        client.send("j-1", "go")
        assert client.when("j-1", "finished", timeout=WAIT).state == "finished"
        assert sum(claims) == 0, "the worker claimed an effect it was handed"
        (row,) = client.store.effects("j-1")
        assert (row.status, row.attempts, row.key) == ("done", 1, keys[0])
        assert keys == [row.key]


def test_an_at_most_once_effect_is_still_claimed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []
    with Client(f"sqlite:///{tmp_path / 'jobs.db'}", poll=POLL) as client:
        client.register(
            job_chart(), effects={"work": lambda args, key: ran.append(key)}, at_most_once={"work"}
        )
        client.start("job", "j-1")
        client.engine.flush()
        claims = counting_claims(client, monkeypatch)
        client.send("j-1", "go")
        assert client.when("j-1", "finished", timeout=WAIT).state == "finished"
        assert sum(claims) == 1 and len(ran) == 1
        (row,) = client.store.effects("j-1")
        assert (row.status, row.attempts) == ("done", 1)


def test_effects_handed_over_but_not_started_are_given_back_on_close(tmp_path: Path) -> None:
    file = tmp_path / "jobs.db"
    started, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def blocking(args: Any, key: str) -> str:
        started.set()
        assert release.wait(WAIT)
        return key

    try:
        first = Client(f"sqlite:///{file}", poll=POLL, concurrency=1)
        first.register(job_chart(), effects={"work": blocking})
        for name in ("j-1", "j-2"):
            first.start("job", name)
        first.send("j-1", "go")
        assert started.wait(WAIT)
        first.send("j-2", "go")  # handed over; waits for the one slot, held by j-1's
        first.close(timeout=0)  # j-1's effect is abandoned; j-2's never started
    finally:
        release.set()
    store = SQLiteStore(file)
    try:
        (abandoned,) = store.effects("j-1")
        assert (abandoned.status, abandoned.lease_owner) == ("running", first.worker.owner)
        (row,) = store.effects("j-2")
        assert (row.status, row.attempts, row.lease_owner) == ("pending", 0, None)
    finally:
        store.close()
    with Client(f"sqlite:///{file}") as second:
        second.register(job_chart(), effects={"work": lambda args, key: ran.append(key)})
        assert second.when("j-2", "finished", timeout=WAIT).state == "finished"
        assert ran == [row.key]


def test_effects_waiting_for_a_slot_run_in_it_next_without_the_effect_loop(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The one slot is held: the effects handed meanwhile wait, and the thread holding it runs
    # them as it comes back, in the order handed, without waking the effect loop's thread.
    started, release = threading.Event(), threading.Event()
    ran: list[tuple[str, str]] = []

    def work(args: Any, key: str) -> str:
        ran.append((key, threading.current_thread().name))
        if len(ran) == 1:
            started.set()
            assert release.wait(WAIT)
        return key

    with Client(f"sqlite:///{tmp_path / 'jobs.db'}", poll=POLL, concurrency=1) as client:
        client.register(job_chart(), effects={"work": work})
        for name in ("j-1", "j-2", "j-3"):
            client.start("job", name)
        client.send("j-1", "go")
        assert started.wait(WAIT)
        woken: list[int] = []
        notify = client.worker._wake.notify

        def counted(n: int = 1) -> None:
            woken.append(n)
            notify(n)

        monkeypatch.setattr(client.worker._wake, "notify", counted)
        client.send("j-2", "go")
        client.send("j-3", "go")
        assert len(client.worker._handed) == 2
        release.set()
        for name in ("j-1", "j-2", "j-3"):
            assert client.when(name, "finished", timeout=WAIT).state == "finished"
        assert woken == [], "the effect loop was woken for effects a slot's thread ran"
        keys = [row.key for name in ("j-1", "j-2", "j-3") for row in client.store.effects(name)]
        assert [key for key, _ in ran] == keys
        assert {name for _, name in ran} == {"statekeeper-effect-work"}
        assert client.worker._effect_threads.started == 1
        assert client.worker._effect_threads.wait(WAIT) == []  # every job returned
        with client.worker._wake:
            assert (client.worker._draining, client.worker._handed) == (0, [])


def test_a_claimed_effect_is_not_kept_waiting_by_a_stream_of_handed_ones(tmp_path: Path) -> None:
    # The effect loop waits for the one slot for an at-most-once effect it claimed: the thread
    # holding the slot leaves it after its effect, rather than running the handed ones first.
    started, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def work(args: Any, key: str) -> str:
        ran.append(key)
        if len(ran) == 1:
            started.set()
            assert release.wait(WAIT)
        return key

    once = Chart("once", initial="waiting", states={
        "waiting": State(on={"go": "working"}),
        "working": State(entry=[Effect("once")], on={"done.effect.once": "finished"}),
        "finished": Final(),
    })  # fmt: skip
    with Client(f"sqlite:///{tmp_path / 'jobs.db'}", poll=POLL, concurrency=1) as client:
        client.register(job_chart(), effects={"work": work})
        client.register(once, effects={"once": lambda args, key: ran.append(key)},
                        at_most_once={"once"})
        for name in ("j-1", "j-2", "j-3"):
            client.start("job", name)
        client.start("once", "o-1")
        client.send("j-1", "go")
        assert started.wait(WAIT)
        client.send("o-1", "go")  # claimed by the effect loop, which waits for the slot
        deadline = time.monotonic() + WAIT
        while not client.worker._slot_wanted:
            assert time.monotonic() < deadline, "the effect loop never waited for a slot"
            time.sleep(0.005)
        client.send("j-2", "go")
        client.send("j-3", "go")
        release.set()
        for name in ("j-1", "j-2", "j-3", "o-1"):
            assert client.when(name, "finished", timeout=WAIT).state == "finished"
        key = {name: client.store.effects(name)[0].key for name in ("j-1", "j-2", "j-3", "o-1")}
        assert ran == [key["j-1"], key["o-1"], key["j-2"], key["j-3"]]
