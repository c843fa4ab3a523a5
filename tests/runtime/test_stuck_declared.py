"""Stuck thresholds a chart declares (``State(stuck_after=)``), beside the operator's.

Real clients on every store, a real ``CollectorRegistry`` scraped through prometheus-client's
parser, a ``VirtualClock`` so thresholds are crossed exactly.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry
from test_gauges import gauge, scrape

from statekeeper import Chart, ChartError, State, VirtualClock, compile_chart
from statekeeper.client import Client


def door(version: int = 1, opened: object = "10m", closed: object = None) -> Chart:
    return Chart("door", version=version, initial="closed", states={
        "closed": State(on={"open": "opened"}, stuck_after=closed),
        "opened": State(on={"close": "closed"}, stuck_after=opened)})


def stuck(registry: CollectorRegistry, state: str) -> tuple[float | None, float | None]:
    """The door's stuck count and threshold in ``state``, as scraped."""
    samples = scrape(registry)
    return (gauge(samples, "statekeeper_stuck_instances", chart="door", state=state),
            gauge(samples, "statekeeper_stuck_threshold_seconds", chart="door", state=state))


def test_a_declared_threshold_counts_without_any_operator_setting(
        store_url: str, clock: VirtualClock) -> None:
    registry = CollectorRegistry()
    with Client(store_url, clock=clock, worker=False, metrics=registry) as client:
        client.register(door())
        for n in range(3):
            client.start("door", f"d-{n}")
        client.send("d-0", "open")
        clock.advance(300)
        client.send("d-1", "open")
        assert stuck(registry, "opened") == (0.0, 600.0)
        assert stuck(registry, "closed") == (None, None)  # declares none: no series
        clock.advance(301)
        assert stuck(registry, "opened") == (1.0, 600.0)
        clock.advance(300)
        assert stuck(registry, "opened") == (2.0, 600.0)


def test_the_operators_chart_state_wins_then_the_chart_then_a_bare_state(
        store_url: str, clock: VirtualClock) -> None:
    registry = CollectorRegistry()
    with Client(store_url, clock=clock, worker=False, metrics=registry,
                stuck_after={"door:opened": "1m", "closed": "1h", "ajar": "5s"}) as client:
        client.register(door(closed="30m"))
        client.start("door", "d-0")
        client.start("door", "d-1")
        client.send("d-1", "open")
        assert stuck(registry, "opened") == (0.0, 60.0)  # CHART:STATE over the chart's 10m
        assert stuck(registry, "closed") == (0.0, 1800.0)  # the chart's 30m over bare 1h
        clock.advance(1801)
        assert stuck(registry, "opened") == (1.0, 60.0)
        assert stuck(registry, "closed") == (1.0, 1800.0)


def test_a_bare_operator_state_is_the_default_for_a_state_that_declares_none(
        store_url: str, clock: VirtualClock) -> None:
    registry = CollectorRegistry()
    with Client(store_url, clock=clock, worker=False, metrics=registry,
                stuck_after={"closed": "1h"}) as client:
        client.register(door())
        client.start("door", "d-0")
        clock.advance(3601)
        assert stuck(registry, "closed") == (1.0, 3600.0)


def test_the_newest_version_holding_the_state_says(
        store_url: str, clock: VirtualClock) -> None:
    registry = CollectorRegistry()
    with Client(store_url, clock=clock, worker=False, metrics=registry) as client:
        client.register(door(1, opened="10m"))
        client.start("door", "d-0")
        client.send("d-0", "open")
        assert stuck(registry, "opened")[1] == 600.0
        client.register(door(2, opened=timedelta(hours=1)))
        assert stuck(registry, "opened")[1] == 3600.0  # v1's instance, v2's threshold
        client.register(door(3, opened=None))
        assert stuck(registry, "opened") == (None, None)


def test_retuning_a_threshold_keeps_the_version_and_its_instances(
        store_url: str, clock: VirtualClock) -> None:
    """Operational metadata: out of the structure hash, so no conflict and no new version."""
    assert compile_chart(door(opened="10m")).hash == compile_chart(door(opened=None)).hash
    registry = CollectorRegistry()
    with Client(store_url, clock=clock, worker=False, metrics=registry) as client:
        client.register(door(opened="10m"))
        client.start("door", "d-0")
        client.send("d-0", "open")
        clock.advance(120)
        client.register(door(opened="1m"))  # same version, same hash: accepted
        assert stuck(registry, "opened") == (1.0, 60.0)
        assert client.send("d-0", "close").state == "closed"  # the instance still loads


@pytest.mark.parametrize("value", ["2x", -1, 0, True, "", [5], "0s"])
def test_a_bad_threshold_is_refused_at_definition_naming_the_state(value: object) -> None:
    with pytest.raises(ChartError, match="state 'opened': stuck_after") as caught:
        door(opened=value)
    assert caught.value.state == "opened"


def test_a_history_state_takes_no_threshold() -> None:
    with pytest.raises(ChartError, match="history state") as caught:
        Chart("c", initial="a", states={"a": State(initial="x", states={
            "x": State(on={"go": "h"}), "h": State(history="shallow", stuck_after="1h")})})
    assert caught.value.state == "h"
