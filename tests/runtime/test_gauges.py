"""Gauges read at scrape: instances per state, stuck instances, breakers, on every store.

Real clients commit real steps; a real ``CollectorRegistry`` is scraped through
``generate_latest`` and prometheus-client's own parser.  Time is a ``VirtualClock``, so the
stuck thresholds are crossed exactly, without sleeping.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from policy_charts import Downstream, order
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from statekeeper import Assign, Chart, Final, Parallel, State, Transition, VirtualClock
from statekeeper.client import Client
from statekeeper.resilience import Breaker, Retry
from statekeeper.runtime.gauges import InvalidStuckAfter, parse_stuck_after

KITCHEN = Chart("kitchen", version=1, initial="placed", states={
    "placed": State(on={"accept": "preparing", "note": Transition(None, actions=[Assign("noted", value=1)])}),
    "preparing": Parallel(states={
        "food": State(initial="cooking", states={
            "cooking": State(on={"cooked": "ready"}), "ready": State()}),
        "courier": State(initial="finding", states={
            "finding": State(on={"found": "assigned"}), "assigned": State()}),
    }, on={"deliver": "delivered"}),
    "delivered": Final(),
})

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(registry: CollectorRegistry) -> Samples:
    text = generate_latest(registry).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def gauge(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def instances(samples: Samples) -> dict[str, float]:
    """``statekeeper_instances`` of chart kitchen, version 1, by state, those above 0."""
    return {dict(labels)["state"]: v for (name, labels), v in samples.items()
            if name == "statekeeper_instances" and v and dict(labels)["chart"] == "kitchen"}


def test_instances_per_state_follow_real_commits(store_url: str, clock: VirtualClock) -> None:
    registry = CollectorRegistry()
    with Client(store_url, clock=clock, worker=False, metrics=registry) as client:
        client.register(KITCHEN)
        for n in range(4):
            client.start("kitchen", f"k-{n}")
        assert instances(scrape(registry)) == {"placed": 4}
        client.send("k-0", "accept")
        client.send("k-1", "accept")
        client.send("k-1", "cooked")
        client.send("k-2", "note")  # a data-only step moves nothing
        client.send("k-3", "accept")
        client.send("k-3", "deliver")  # finished: counted nowhere
        assert instances(scrape(registry)) == {
            "placed": 1, "preparing": 2, "food": 2, "courier": 2, "cooking": 1, "ready": 1,
            "finding": 2}
        assert gauge(scrape(registry), "statekeeper_instances", chart="kitchen", version="1",
                     state="delivered") in (None, 0.0)


def test_stuck_instances_cross_their_thresholds_on_the_virtual_clock(
        store_url: str, clock: VirtualClock) -> None:
    registry = CollectorRegistry()
    with Client(store_url, clock=clock, worker=False, metrics=registry,
                stuck_after={"placed": "5m", "kitchen:finding": "90s"}) as client:
        client.register(KITCHEN)
        client.start("kitchen", "k-0")
        clock.advance(60)
        client.start("kitchen", "k-1")
        client.start("kitchen", "k-2")
        client.send("k-2", "accept")
        samples = scrape(registry)
        assert gauge(samples, "statekeeper_stuck_instances", chart="kitchen",
                     state="placed") == 0.0
        assert gauge(samples, "statekeeper_stuck_threshold_seconds", chart="kitchen",
                     state="finding") == 90.0
        clock.advance(241)  # k-0 in placed 301 s, k-1 241 s; k-2 finding for 241 s
        samples = scrape(registry)
        assert gauge(samples, "statekeeper_stuck_instances", chart="kitchen",
                     state="placed") == 1.0
        assert gauge(samples, "statekeeper_stuck_instances", chart="kitchen",
                     state="finding") == 1.0
        assert gauge(samples, "statekeeper_stuck_instances", chart="kitchen",
                     state="cooking") is None  # no threshold, no series
        client.send("k-0", "note")  # data only: still stuck
        client.send("k-2", "found")  # a new configuration: in it since now
        samples = scrape(registry)
        assert gauge(samples, "statekeeper_stuck_instances", chart="kitchen",
                     state="placed") == 1.0
        assert gauge(samples, "statekeeper_stuck_instances", chart="kitchen",
                     state="finding") == 0.0
        clock.advance(60)
        assert gauge(scrape(registry), "statekeeper_stuck_instances", chart="kitchen",
                     state="placed") == 2.0


def test_breaker_state_is_the_shared_one(store_url: str, clock: VirtualClock) -> None:
    registry = CollectorRegistry()
    down = Downstream(failures=100)
    with Client(store_url, clock=clock, worker=False, metrics=registry, breakers={
            "payments": Breaker("payments", failure_rate=0.5, min_calls=2, window=10,
                                open_for="1m")}) as client:
        client.register(order(retry=Retry(1), breaker="payments"),
                        effects={"charge": down.charge})
        samples = scrape(registry)
        assert gauge(samples, "statekeeper_breaker_state", breaker="payments",
                     state="closed") == 1.0
        for n in range(3):
            client.start("order", f"o-{n}")
            client.send(f"o-{n}", "pay")
        client.worker.run_until_idle()
        samples = scrape(registry)
        assert gauge(samples, "statekeeper_breaker_state", breaker="payments",
                     state="open") == 1.0
        assert gauge(samples, "statekeeper_breaker_state", breaker="payments",
                     state="closed") == 0.0


def test_labels_never_hold_an_instance_id(tmp_path: Path, clock: VirtualClock) -> None:
    registry = CollectorRegistry()
    ids = {f"order-{n:04d}" for n in range(30)}
    with Client(f"sqlite:///{tmp_path / 'k.db'}", clock=clock, worker=False,
                metrics=registry, stuck_after={"placed": "1s"}) as client:
        client.register(KITCHEN)
        for iid in sorted(ids):
            client.start("kitchen", iid, labels={"customer": iid})
            client.send(iid, "accept")
        clock.advance(10)
        text = generate_latest(registry).decode()
    values = {v for family in text_string_to_metric_families(text) for s in family.samples
              for v in s.labels.values()}
    assert values and not values & ids
    assert not any(iid in text for iid in ids)


def test_two_clients_of_one_database_count_it_once(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    url = f"sqlite:///{tmp_path / 'k.db'}"
    with Client(url, worker=False, metrics=registry) as one:
        one.register(KITCHEN)
        one.start("kitchen", "k-1")
        with Client(url, worker=False, metrics=registry) as two:
            two.register(KITCHEN)
            assert instances(scrape(registry)) == {"placed": 1}
        assert instances(scrape(registry)) == {"placed": 1}
    assert instances(scrape(registry)) == {}  # closed clients are not read


@pytest.mark.parametrize("spec", [{"": "5m"}, {":placed": "5m"}, {"placed": "soon"},
                                  {"placed": 0}, {"placed": -3}, [("placed", "5m")]])
def test_a_bad_stuck_threshold_is_a_named_error(spec: dict[str, object]) -> None:
    with pytest.raises(InvalidStuckAfter, match="stuck_after"):
        parse_stuck_after(spec)  # type: ignore[arg-type]
    with pytest.raises(InvalidStuckAfter):
        Client("memory://", worker=False, metrics=CollectorRegistry(),
               stuck_after=spec)  # type: ignore[arg-type]


_WRITER = textwrap.dedent("""
    import sys
    from statekeeper.client import Client
    sys.path.insert(0, sys.argv[2])
    from test_gauges import KITCHEN
    client = Client(sys.argv[1], worker=False)
    client.register(KITCHEN)
    n = 0
    while True:
        iid = f"k-{n}"
        client.start("kitchen", iid)
        client.send(iid, "accept")
        if n % 3 == 0:
            client.send(iid, "cooked")
        if n % 5 == 0:
            client.send(iid, "deliver")
        n += 1
        if n == 20:
            print("committing", flush=True)
""")


def test_counts_are_exact_after_a_killed_process(store_url: str) -> None:
    """A process committing as fast as it can is SIGKILLed; the counts the store kept equal
    a count of every instance row, state by state."""
    if store_url == "memory://":
        pytest.skip("a memory store dies with its process")
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, store_url,
                             str(Path(__file__).parent)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "committing\n"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    with Client(store_url, worker=False) as client:
        counted: dict[tuple[str, str, str], int] = {}
        page = client.query(chart="kitchen", status="active", limit=1000)
        for found in page:
            for state in found.configuration:
                key = ("kitchen", "1", state)
                counted[key] = counted.get(key, 0) + 1
        assert len(page) >= 16  # of the first 20, 4 were delivered
        kept = {k: n for k, n in client.store.state_counts().items() if n}
        assert kept == counted


def test_stuck_thresholds_without_metrics_say_so() -> None:
    with pytest.raises(InvalidStuckAfter, match="turn metrics on"):
        Client("memory://", worker=False, stuck_after={"placed": "5m"})
