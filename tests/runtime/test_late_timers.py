"""Overdue timers after downtime: each fires promptly under its own stated policy (fire late,
or skip), its lateness is logged, and a timer cancelled by leaving its state never fires."""

from __future__ import annotations

import pytest

from statekeeper import Chart, ChartError, Final, Send, State, Transition, VirtualClock
from statekeeper.client import Client
from statekeeper.core.compile import compile_chart
from statekeeper.core.hashing import structure_hash
from statekeeper.io.dictform import chart_from_dict, chart_from_yaml, chart_to_dict, chart_to_yaml


def chart(late: str | None = None) -> Chart:
    """The lease chart; ``late=None`` states no policy (the worker's applies)."""
    return Chart("lease", version=1, initial="waiting", states={
        "waiting": State(on={"answer": "answered"},
                         after={"1m": Transition("expired", late=late)}),  # type: ignore[arg-type]
        "answered": Final(),
        "expired": Final(),
    })


def down_for_an_hour(client: Client, clock: VirtualClock) -> None:
    client.start("lease", "l-1")
    clock.advance(3600)
    client.worker.run_until_idle()


def test_fire_late_fires_promptly_and_logs_its_lateness(client: Client,
                                                        clock: VirtualClock) -> None:
    client.register(chart("fire_late"))
    down_for_an_hour(client, clock)
    assert client.get("l-1").state == "expired"
    fired = client.history("l-1")[-1]
    assert fired.outcome == "applied" and fired.reason == "timer fired 3540.000s late"
    assert client.store.timers("l-1") == []


def test_skip_drops_the_overdue_timer_and_logs_its_lateness(client: Client,
                                                            clock: VirtualClock) -> None:
    client.register(chart("skip"))
    down_for_an_hour(client, clock)
    state = client.get("l-1")
    assert state.state == "waiting", "the chart never saw the skipped timer"
    skipped = client.history("l-1")[-1]
    assert (skipped.event, skipped.outcome) == ("statekeeper.timer.skipped", "ignored")
    assert skipped.reason == "timer statekeeper.after.waiting.0 skipped: 3540.000s late"
    assert skipped.data["lateness"] == pytest.approx(3540.0)
    assert client.store.timers("l-1") == []
    assert client.store.load("l-1").snapshot["timers"] == {}, "no ghost timer is left"
    assert client.store.integrity_check() == []
    assert client.send("l-1", "answer").state == "answered"


def test_skip_fires_a_timer_that_is_on_time(client: Client, clock: VirtualClock) -> None:
    client.register(chart("skip"))
    client.start("lease", "l-1")
    clock.advance(60)
    client.worker.run_until_idle()
    assert client.get("l-1").state == "expired"


def test_a_timer_cancelled_by_leaving_its_state_never_fires(client: Client,
                                                             clock: VirtualClock) -> None:
    client.register(chart("fire_late"))
    client.start("lease", "l-1")
    client.send("l-1", "answer")
    assert client.store.timers("l-1") == []
    clock.advance(3600)
    client.worker.run_until_idle()
    assert [r.event for r in client.history("l-1")] == ["statekeeper.start", "answer"]


PINGING = Chart("ping", version=1, initial="idle", states={
    "idle": State(entry=[Send(event="ping", delay="1m", late="skip")], on={"ping": "pinged"}),
    "pinged": Final(),
})


def test_delayed_send_states_its_policy(client: Client, clock: VirtualClock) -> None:
    pinging = PINGING
    client.register(pinging)
    client.start("ping", "p-1")
    (timer,) = client.store.timers("p-1")
    assert timer.policy == "skip"
    clock.advance(3600)
    client.worker.run_until_idle()
    assert client.get("p-1").state == "idle"
    assert "skipped" in (client.history("p-1")[-1].reason or "")


def test_the_policy_is_part_of_the_structure_and_the_chart_format() -> None:
    assert compile_chart(chart("fire_late")).hash == compile_chart(chart()).hash == compile_chart(Chart(
        "lease", version=1, initial="waiting", states={
            "waiting": State(on={"answer": "answered"}, after={"1m": "expired"}),
            "answered": Final(), "expired": Final()})).hash, "the default adds nothing"
    assert structure_hash(chart("skip")) != structure_hash(chart("fire_late"))
    doc = chart_to_dict(chart("skip"))
    assert doc["states"]["waiting"]["after"]["1m"] == {"target": "expired", "late": "skip"}
    assert structure_hash(chart_from_dict(doc)) == structure_hash(chart("skip"))
    assert structure_hash(chart_from_yaml(chart_to_yaml(chart("skip")))) == \
        structure_hash(chart("skip"))
    assert "late" not in str(chart_to_dict(chart()))
    stated = chart_to_dict(chart("fire_late"))  # stated, it stays stated through the format
    assert stated["states"]["waiting"]["after"]["1m"] == {"target": "expired", "late": "fire_late"}
    [waiting] = [s for s in chart_from_dict(stated).states if s.id == "waiting"]  # type: ignore[union-attr]
    assert [t.late for t in waiting.after["1m"]] == ["fire_late"]  # type: ignore[union-attr]
    [waiting] = [s for s in chart_from_dict(chart_to_dict(chart())).states if s.id == "waiting"]  # type: ignore[union-attr]
    assert [t.late for t in waiting.after["1m"]] == [None]  # type: ignore[union-attr]
    assert structure_hash(chart_from_dict(chart_to_dict(PINGING))) == structure_hash(PINGING)
    assert "'late': 'skip'" in str(chart_to_dict(PINGING))
    stated_send = Send(event="ping", delay="1m", late="fire_late")
    assert structure_hash(stated_send) == structure_hash(Send(event="ping", delay="1m")), \
        "a send stating fire_late hashes as it did when fire_late was the default"


def test_late_belongs_to_after_transitions_only() -> None:
    for late in ("skip", "fire_late"):
        with pytest.raises(ChartError, match="after"):
            compile_chart(Chart("c", states={"a": State(on={"go": Transition("a", late=late)})}))  # type: ignore[arg-type]
    with pytest.raises(ChartError, match="late must be"):
        compile_chart(Chart("c", states={"a": State(after={"1s": Transition("a", late="never")})}))  # type: ignore[arg-type]
    with pytest.raises(ChartError, match="late"):
        compile_chart(Chart("c", states={"a": State(after={"1s": [
            Transition("a", cond="x", late="skip"), Transition("a", late="fire_late")]})}))


def test_the_workers_policy_and_tolerance(store_url: str, clock: VirtualClock) -> None:
    with Client(store_url, clock=clock, worker=False, late_policy="skip",
                late_tolerance=10.0) as client:
        client.register(chart())  # states no policy: the worker's applies
        client.start("lease", "on-time")
        client.start("lease", "l-1")
        clock.advance(65)  # 5 s late: within the tolerance, it fires
        client.worker.run_due()
        assert client.get("on-time").state == "expired"
        assert client.get("l-1").state == "expired"
        client.start("lease", "l-2")
        clock.advance(3600)
        client.worker.run_until_idle()
        assert client.get("l-2").state == "waiting", "the worker skips unstated overdue timers"
        assert "skipped: 3540.000s late" in (client.history("l-2")[-1].reason or "")


def test_an_unknown_worker_policy_is_refused(store_url: str) -> None:
    with pytest.raises(ValueError, match="late_policy must be 'fire_late' or 'skip'"):
        Client(store_url, worker=False, late_policy="later")


def test_a_send_to_self_is_never_skipped(store_url: str, clock: VirtualClock) -> None:
    # Regression: a send with no delay is queued as a timer due at once; after downtime the
    # worker-wide "skip" policy dropped it, losing an event the chart had already sent.
    relay = Chart("relay", version=1, initial="first", states={
        "first": State(entry=[Send(event="next")], on={"next": "second"}),
        "second": Final(),
    })
    with Client(store_url, clock=clock, worker=False, late_policy="skip") as client:
        client.register(relay)
        client.start("relay", "r-1")
        clock.advance(3600)
        client.worker.run_until_idle()
        assert client.get("r-1").state == "second"


def test_a_timer_that_states_fire_late_fires_under_a_skipping_worker(store_url: str,
                                                                     clock: VirtualClock) -> None:
    """Regression: the worker-wide ``skip`` overrode a timer's own stated ``fire_late``."""
    with Client(store_url, clock=clock, worker=False, late_policy="skip") as client:
        client.register(chart("fire_late"))
        down_for_an_hour(client, clock)
        assert client.get("l-1").state == "expired", "its own policy wins"
        assert client.history("l-1")[-1].reason == "timer fired 3540.000s late"


def test_each_timer_row_keeps_the_policy_its_chart_states(client: Client) -> None:
    for name, late in (("unstated", None), ("stated", "fire_late"), ("skipping", "skip")):
        lease = chart(late)
        client.register(Chart(name, version=1, initial=lease.initial, states=lease.states))
        client.start(name, f"{name}-1")
    assert [client.store.timers(f"{n}-1")[0].policy for n in ("unstated", "stated", "skipping")] \
        == ["default", "fire_late", "skip"]


def test_a_send_states_its_policy_too(store_url: str, clock: VirtualClock) -> None:
    stated = Chart("stated", version=1, initial="idle", states={
        "idle": State(entry=[Send(event="ping", delay="1m", late="fire_late")],
                      on={"ping": "pinged"}),
        "pinged": Final(),
    })
    with Client(store_url, clock=clock, worker=False, late_policy="skip") as client:
        client.register(stated)
        client.start("stated", "s-1")
        assert client.store.timers("s-1")[0].policy == "fire_late"
        clock.advance(3600)
        client.worker.run_until_idle()
        assert client.get("s-1").state == "pinged"
