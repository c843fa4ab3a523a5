"""A worker that lost an effect's lease does not report its outcome: the new holder's counts.

Two clients share one store (a SQLite file, or a PostgreSQL schema), each with its own worker,
driven by hand on one VirtualClock.  Worker A claims the effect and its call hangs past the
lease; worker B claims it again (the lease ended) and its call hangs too; A's call returns
first.  A no longer holds the lease, so its outcome must be dropped and B's committed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from statekeeper import Chart, Effect, Final, State, VirtualClock
from statekeeper.client import Client

CHART = Chart("order", version=1, initial="charging", states={
    "charging": State(entry=[Effect("charge")], on={"done.effect.charge": "paid"}),
    "paid": Final(),
})
LEASE = 30.0


def held_effect(result: str, started: threading.Event,
                release: threading.Event) -> Callable[..., Any]:
    def charge(args: Any, key: str) -> str:
        started.set()
        assert release.wait(60), "the test never released the call"
        return result
    return charge


@pytest.fixture
def shared_url(store_url: str) -> str:
    if store_url.startswith("memory"):
        pytest.skip("two clients share a store only through a file or a server")
    return store_url


@pytest.mark.parametrize("heartbeat", [False, True], ids=["outran", "heartbeat"])
def test_an_outcome_after_the_lease_was_taken_over_is_dropped(shared_url: str,
                                                               heartbeat: bool) -> None:
    clock = VirtualClock(1_000_000.0)
    started_a, release_a = threading.Event(), threading.Event()
    started_b, release_b = threading.Event(), threading.Event()
    with Client(shared_url, clock=clock, worker=False, lease=LEASE) as a, \
            Client(shared_url, clock=clock, worker=False, lease=LEASE) as b:
        a.register(CHART, effects={"charge": held_effect("from-a", started_a, release_a)})
        b.register(CHART, effects={"charge": held_effect("from-b", started_b, release_b)})
        a.start("order", "o-1")
        run_a = threading.Thread(target=a.worker.run_due)
        run_a.start()
        assert started_a.wait(60)
        clock.advance(LEASE + 1)  # A's lease ends while its call hangs
        run_b = threading.Thread(target=b.worker.run_due)
        run_b.start()
        assert started_b.wait(60), "B took the effect over"
        if heartbeat:
            a.worker.heartbeat()  # finds the lease taken over
        release_a.set()
        run_a.join()
        release_b.set()
        run_b.join()
        [done] = [row for row in a.history("o-1") if row.event == "done.effect.charge"]
        assert done.data == "from-b", "A's outcome was reported although B held the lease"
        assert a.get("o-1").state == "paid"
        [row] = a.store.effects("o-1")
        assert row.status == "done"


def test_a_closed_worker_does_not_say_it_leads(tmp_path: Path) -> None:
    """Found in review: close() dropped the signals, and "no signals" read as "leader"."""
    client = Client(tmp_path / "w.db", clock=VirtualClock(), worker=False)
    assert client.worker.leader  # SQLite: every worker leads
    client.close()
    assert not client.worker.leader


def test_the_store_refuses_an_outcome_whose_lease_was_taken_over(shared_url: str) -> None:
    """The worker's own check and its commit are not one step: between them, another worker
    may take the effect over (A's check found its lease live; B's claim came just after).
    A's outcome reaches A's engine, and the store must refuse it there: the event is not
    applied, and the row stays B's to answer."""
    clock = VirtualClock(1_000_000.0)
    with Client(shared_url, clock=clock, worker=False, lease=LEASE) as a, \
            Client(shared_url, clock=clock, worker=False, lease=LEASE) as b:
        for client, result in ((a, "from-a"), (b, "from-b")):
            client.register(CHART, effects={"charge": lambda args, key, r=result: r})
        a.start("order", "o-1")
        [mine] = a.store.claim_effects(a.worker.owner, clock.now(), LEASE)
        clock.advance(LEASE + 1)
        [theirs] = b.store.claim_effects(b.worker.owner, clock.now(), LEASE)
        fn, policy, _chart = a.worker.lookup.one(mine)
        late = a.worker.runner.run(mine, fn, policy, lambda at: None)
        assert late is not None
        answer = a.engine.submit(late).result(timeout=60)
        assert answer.state == "charging"
        assert [row.event for row in a.history("o-1")] == ["statekeeper.start"]
        [row] = a.store.effects("o-1")
        assert (row.status, row.lease_owner) == ("running", b.worker.owner)
        fn, policy, _chart = b.worker.lookup.one(theirs)
        outcome = b.worker.runner.run(theirs, fn, policy, lambda at: None)
        assert outcome is not None
        assert b.engine.submit(outcome).result(timeout=60).state == "paid"
        [done] = [row for row in a.history("o-1") if row.event == "done.effect.charge"]
        assert done.data == "from-b"


def test_an_effect_whose_lease_ended_while_it_waited_is_not_started(shared_url: str) -> None:
    """Claimed together, run one after the other: the second waited behind a long first (as
    an effect waits for a free slot, or for the database to come back), its lease ended,
    and another worker took it over.  It must not be run here as well."""
    clock = VirtualClock(1_000_000.0)
    calls: list[tuple[str, str]] = []
    with Client(shared_url, clock=clock, worker=False, lease=LEASE) as a, \
            Client(shared_url, clock=clock, worker=False, lease=LEASE) as b:

        def slow(args: Any, key: str) -> str:
            calls.append(("a", key))
            if len(calls) == 1:  # a long call: meanwhile the other lease ends, and B claims
                clock.advance(LEASE + 1)
                assert [e.key for e in b.store.claim_effects(b.worker.owner, clock.now(),
                                                             LEASE)] != []
            return "from-a"

        a.register(CHART, effects={"charge": slow})
        b.register(CHART, effects={"charge": lambda args, key: "from-b"})
        a.start("order", "o-1")
        a.start("order", "o-2")
        assert a.worker.run_due() == 1, "one effect run, the other left to B"
        assert len(calls) == 1
        [first] = [key for _, key in calls]
        [other] = [e for e in a.store.effects() if e.key != first]
        assert (other.status, other.lease_owner) == ("running", b.worker.owner)
