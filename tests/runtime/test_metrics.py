"""Prometheus metrics: real clients on every store, scraped from a real registry.

Each test gives its client a registry of its own and reads it as Prometheus would, through
``generate_latest`` and prometheus-client's own text parser.  The virtual clock makes every
duration exact.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest
from policy_charts import Downstream, order
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from statekeeper import (
    Chart,
    EventNotAccepted,
    Final,
    Migration,
    State,
    Transition,
    VirtualClock,
)
from statekeeper.client import Client
from statekeeper.runtime.metrics import MAX_SERIES, STATE_BUCKETS, metrics_for

DOOR = Chart("door", version=1, initial="closed", states={
    "closed": State(on={"open": "opened", "knock": "closed"}),
    "opened": State(on={"close": "closed"}),
})


def lease(late: str) -> Chart:
    return Chart("lease", version=1, initial="waiting", states={
        "waiting": State(on={"answer": "answered"},
                         after={"1m": Transition("expired", late=late)}),  # type: ignore[arg-type]
        "answered": Final(),
        "expired": Final(),
    })


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(registry: CollectorRegistry) -> Samples:
    """Every sample of ``registry`` as Prometheus reads it: (name, sorted labels) -> value."""
    text = generate_latest(registry).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metered(store_url: str, clock: VirtualClock, registry: CollectorRegistry) -> Iterator[Client]:
    with Client(store_url, clock=clock, worker=False, metrics=registry) as client:
        yield client


def test_transitions_are_counted_by_chart_event_and_outcome(metered: Client,
                                                           registry: CollectorRegistry) -> None:
    metered.register(DOOR)
    metered.start("door", "d-1")
    metered.start("door", "d-2")
    metered.send("d-1", "open")
    with pytest.raises(EventNotAccepted):
        metered.send("d-1", "open")
    metered.send("d-2", "open", idempotency_key="k")
    metered.send("d-2", "open", idempotency_key="k")  # a duplicate: nothing new is committed
    samples = scrape(registry)
    total = "statekeeper_transitions_total"
    assert value(samples, total, chart="door", event="statekeeper.start", outcome="applied") == 2
    assert value(samples, total, chart="door", event="open", outcome="applied") == 2
    assert value(samples, total, chart="door", event="open", outcome="rejected") == 1
    assert value(samples, total, chart="door", event="close", outcome="applied") is None


def test_time_in_a_state_is_observed_when_the_instance_leaves_it(
        metered: Client, clock: VirtualClock, registry: CollectorRegistry) -> None:
    metered.register(DOOR)
    metered.start("door", "d-1")
    clock.advance(90)
    metered.send("d-1", "open")
    clock.advance(5)
    metered.send("d-1", "close")
    clock.advance(8 * 86400)  # still closed: nothing observed until it leaves
    samples = scrape(registry)
    hist = "statekeeper_state_duration_seconds"
    assert value(samples, f"{hist}_count", chart="door", state="closed") == 1
    assert value(samples, f"{hist}_sum", chart="door", state="closed") == 90.0
    assert value(samples, f"{hist}_bucket", chart="door", state="closed", le="60.0") == 0
    assert value(samples, f"{hist}_bucket", chart="door", state="closed", le="300.0") == 1
    assert value(samples, f"{hist}_sum", chart="door", state="opened") == 5.0
    assert value(samples, f"{hist}_bucket", chart="door", state="opened", le="5.0") == 1
    buckets = sorted(float(dict(labels)["le"]) for (name, labels) in samples
                     if name == f"{hist}_bucket" and dict(labels)["state"] == "closed")
    assert buckets[0] == 0.1 and buckets[-2] == 7 * 86400 and buckets[-1] == float("inf")
    assert tuple(buckets[:-1]) == STATE_BUCKETS


def test_a_transition_that_stays_in_its_state_observes_nothing(
        metered: Client, clock: VirtualClock, registry: CollectorRegistry) -> None:
    metered.register(DOOR)
    metered.start("door", "d-1")
    clock.advance(3)
    metered.send("d-1", "knock")  # closed -> closed
    samples = scrape(registry)
    assert value(samples, "statekeeper_transitions_total", chart="door", event="knock",
                 outcome="applied") == 1
    assert value(samples, "statekeeper_state_duration_seconds_count", chart="door",
                 state="closed") is None


def test_effect_attempts_and_their_latency(metered: Client, clock: VirtualClock,
                                           registry: CollectorRegistry) -> None:
    api = Downstream(failures=1)
    metered.register(order(), effects={"charge": api.charge})
    metered.start("order", "o-1")
    metered.send("o-1", "pay")
    metered.worker.run_until_idle()
    clock.advance(1.0)
    metered.worker.run_until_idle()
    assert metered.get("o-1").state == "paid"
    samples = scrape(registry)
    attempts = "statekeeper_effect_attempts_total"
    assert value(samples, attempts, chart="order", effect="charge", outcome="error") == 1
    assert value(samples, attempts, chart="order", effect="charge", outcome="ok") == 1
    assert value(samples, "statekeeper_effect_duration_seconds_count", chart="order",
                 effect="charge") == 2
    assert value(samples, "statekeeper_transitions_total", chart="order",
                 event="done.effect.charge", outcome="applied") == 1


@pytest.mark.parametrize(("late", "then"), [("fire_late", "expired"), ("skip", "waiting")])
def test_timer_lateness_is_observed_once_the_timer_fired(
        metered: Client, clock: VirtualClock, registry: CollectorRegistry, late: str,
        then: str) -> None:
    metered.register(lease(late))
    metered.start("lease", "l-1")
    clock.advance(3600)  # the worker was down: the one-minute timer is 59 minutes late
    metered.worker.run_until_idle()
    assert metered.get("l-1").state == then
    samples = scrape(registry)
    lateness = "statekeeper_timer_lateness_seconds"
    assert value(samples, f"{lateness}_count", chart="lease") == 1
    assert value(samples, f"{lateness}_sum", chart="lease") == 3540.0
    assert value(samples, f"{lateness}_bucket", chart="lease", le="3600.0") == 1
    assert value(samples, f"{lateness}_bucket", chart="lease", le="300.0") == 0
    assert value(samples, "statekeeper_state_duration_seconds_sum", chart="lease",
                 state="waiting") == (3600.0 if late == "fire_late" else None)


def test_a_migration_is_counted(metered: Client, registry: CollectorRegistry) -> None:
    door_v2 = Chart("door", version=2, initial="closed", states={
        "closed": State(on={"open": "ajar"}),
        "ajar": State(on={"close": "closed"}),
    })
    metered.register(DOOR)
    metered.start("door", "d-1")
    metered.send("d-1", "open")
    metered.register(door_v2)
    metered.register_migration(Migration("door", 1, 2, states={"opened": "ajar"}))
    metered.migrate("door", 2, dry_run=False, actor="ops")
    samples = scrape(registry)
    assert value(samples, "statekeeper_transitions_total", chart="door",
                 event="statekeeper.migrate", outcome="migrated") == 1
    assert value(samples, "statekeeper_state_duration_seconds_count", chart="door",
                 state="opened") is None, "a migration is not the instance leaving a state"


def test_labels_never_hold_an_instance_id_or_a_key(metered: Client, clock: VirtualClock,
                                                   registry: CollectorRegistry) -> None:
    api = Downstream(failures=1)
    metered.register(DOOR)
    metered.register(order(), effects={"charge": api.charge})
    for n in range(5):
        metered.start("door", f"door-instance-{n}")
        metered.send(f"door-instance-{n}", "open", idempotency_key=f"key-{n}", actor="ann",
                     trace_id=f"trace-{n}")
    metered.start("order", "order-instance")
    metered.send("order-instance", "pay")
    metered.worker.run_until_idle()
    clock.advance(1.0)
    metered.worker.run_until_idle()
    label_values = {v for (_name, labels) in scrape(registry) for _k, v in labels}
    assert not {v for v in label_values if "instance" in v or "key" in v or "trace" in v
                or v == "ann"}, label_values
    assert {"door", "order", "open", "charge", "closed"} <= label_values


def test_two_clients_share_one_registry(store_url: str, clock: VirtualClock,
                                        registry: CollectorRegistry) -> None:
    with Client(store_url, clock=clock, worker=False, metrics=registry) as one, \
            Client(store_url, clock=clock, worker=False, metrics=registry) as two:
        assert one.metrics is two.metrics is metrics_for(registry)
        for client, name in ((one, "d-1"), (two, "d-2")):
            client.register(DOOR)
            client.start("door", name)
    assert value(scrape(registry), "statekeeper_transitions_total", chart="door",
                 event="statekeeper.start", outcome="applied") == 2


def test_metrics_true_records_in_the_default_registry(store_url: str,
                                                      clock: VirtualClock) -> None:
    from prometheus_client import REGISTRY

    labels = {"chart": "door", "event": "statekeeper.start", "outcome": "applied"}
    before = REGISTRY.get_sample_value("statekeeper_transitions_total", labels) or 0.0
    with Client(store_url, clock=clock, worker=False, metrics=True) as client:
        client.register(DOOR)
        client.start("door", "d-1")
    assert REGISTRY.get_sample_value("statekeeper_transitions_total", labels) == before + 1


def test_metrics_off_records_nothing(store_url: str, clock: VirtualClock) -> None:
    with Client(store_url, clock=clock, worker=False) as client:
        assert client.metrics is None and client.engine.metrics is None
        assert client.worker.runner.metrics is None


@pytest.mark.parametrize("bad", ["yes", 1, object()])
def test_a_bad_metrics_argument_is_refused(bad: object) -> None:
    with pytest.raises(TypeError, match="metrics= takes True, False or a"):
        Client("memory://", worker=False, metrics=bad)  # type: ignore[arg-type]


def test_unbounded_event_names_are_capped(clock: VirtualClock,
                                          registry: CollectorRegistry) -> None:
    with Client("memory://", clock=clock, worker=False, metrics=registry) as client:
        client.register(DOOR)
        client.start("door", "d-1")
        for n in range(MAX_SERIES + 50):
            with pytest.raises(EventNotAccepted):
                client.send("d-1", f"made-up-{n}")
    samples = scrape(registry)
    series = [labels for (name, labels) in samples if name == "statekeeper_transitions_total"]
    assert len(series) == MAX_SERIES + 1
    assert value(samples, "statekeeper_transitions_total", chart="door", event="(other)",
                 outcome="rejected") == 51


def test_without_prometheus_client_statekeeper_works_and_metrics_are_a_named_error() -> None:
    script = textwrap.dedent("""
        import sys
        sys.modules["prometheus_client"] = None  # as if it were not installed
        import statekeeper
        from statekeeper.client import Client
        with Client("memory://", worker=False) as client:
            client.register(statekeeper.Chart("door", initial="a", states={
                "a": statekeeper.State(on={"go": "b"}), "b": statekeeper.State()}))
            assert client.start("door", "d").state == "a"
        try:
            Client("memory://", worker=False, metrics=True)
        except statekeeper.MetricsUnavailable as exc:
            print("refused:", exc)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ("refused: metrics need prometheus-client: pip install "
                                   "'statekeeper[metrics]' (or leave metrics off)")


def test_an_async_client_records_its_sends(store_url: str, clock: VirtualClock,
                                           registry: CollectorRegistry) -> None:
    from statekeeper import AsyncClient

    async def main() -> None:
        async with AsyncClient(store_url, clock=clock, worker=False,
                               metrics=registry) as client:
            client.register(DOOR)
            await asyncio.gather(*(client.start("door", f"d-{n}") for n in range(8)))
            clock.advance(2)
            await asyncio.gather(*(client.send(f"d-{n}", "open") for n in range(8)))

    asyncio.run(main())
    samples = scrape(registry)
    assert value(samples, "statekeeper_transitions_total", chart="door", event="open",
                 outcome="applied") == 8
    assert value(samples, "statekeeper_state_duration_seconds_sum", chart="door",
                 state="closed") == 16.0
