"""A dead letter's replay continues the trace its effect's outbox row kept (issue 19).

Checked with the SDK's in-memory exporter, on every store: the trace context is read back
from the outbox row (a dead effect) or from the letter (an event a send could not deliver).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from policy_charts import Downstream, order

from statekeeper import Chart, Final, State, VirtualClock
from statekeeper.client import Client
from statekeeper.core.events import Event
from statekeeper.runtime.planner import SEND_EFFECT
from statekeeper.runtime.tracing import format_traceparent
from statekeeper.storage.records import Commit, EffectRecord

TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
PARENT_ID = 0x00F067AA0BA902B7
CALLER = format_traceparent(TRACE_ID, PARENT_ID, 1)


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def traced(store_url: str, clock: VirtualClock,
           exporter: InMemorySpanExporter) -> Iterator[Client]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with Client(store_url, clock=clock, worker=False, tracing=provider) as made:
        yield made


def named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == name]


def in_callers_trace(span: ReadableSpan) -> bool:
    return span.context is not None and span.context.trace_id == TRACE_ID


def test_a_replayed_effect_continues_the_trace_of_its_row(
        traced: Client, exporter: InMemorySpanExporter) -> None:
    api = Downstream(failures=1, error=ValueError)  # fatal: a dead letter at once
    traced.register(order(), effects={"charge": api.charge})
    traced.start("order", "o-1")
    traced.send("o-1", "pay", traceparent=CALLER)
    traced.worker.run_until_idle()
    [letter] = traced.dead_letters()
    assert letter.id is not None
    exporter.clear()
    traced.replay_dead_letter(letter.id, actor="ops")
    traced.worker.run_until_idle()
    [replay] = named(exporter, "statekeeper.step statekeeper.dead_letter.replayed")
    assert in_callers_trace(replay)
    assert replay.parent is not None and replay.parent.span_id == PARENT_ID
    [attempt] = named(exporter, "statekeeper.effect charge")
    assert in_callers_trace(attempt) and (attempt.attributes or {}).get(
        "statekeeper.outcome") == "ok"
    [row] = [r for r in traced.history("o-1") if r.event == "statekeeper.dead_letter.replayed"]
    assert row.trace_id == CALLER


def test_a_replay_without_a_kept_context_starts_a_trace_of_its_own(
        traced: Client, exporter: InMemorySpanExporter) -> None:
    api = Downstream(failures=1, error=ValueError)
    traced.register(order(), effects={"charge": api.charge})
    traced.start("order", "o-1")
    traced.send("o-1", "pay")  # no caller context, none current: the row keeps none
    traced.worker.run_until_idle()
    [letter] = traced.dead_letters()
    assert letter.id is not None and traced.store.effects("o-1")[0].traceparent is None
    traced.replay_dead_letter(letter.id)
    [replay] = named(exporter, "statekeeper.step statekeeper.dead_letter.replayed")
    assert replay.parent is None and not in_callers_trace(replay)


def test_a_replayed_event_continues_the_trace_of_the_send_that_failed(
        traced: Client, exporter: InMemorySpanExporter) -> None:
    peer = Chart("peer", version=1, initial="waiting", states={
        "waiting": State(on={"ping": "pinged"}), "pinged": Final()})
    traced.register(peer)
    traced.start("peer", "s-1")
    record = traced.store.load("s-1")
    send = EffectRecord("s-1:send:1", "s-1", SEND_EFFECT,
                        {"target": "peer-1", "event": Event("ping").to_dict()},
                        traceparent=CALLER)
    assert traced.store.apply([Commit(replace(record), record.rev, effects=[send])]) == []
    traced.engine._cache.clear()
    traced.worker.run_until_idle()
    [letter] = traced.dead_letters()
    assert letter.kind == "event" and letter.payload["traceparent"] == CALLER
    traced.start("peer", "peer-1")
    assert letter.id is not None
    exporter.clear()
    assert traced.replay_dead_letter(letter.id, actor="ops").state == "pinged"
    [step] = named(exporter, "statekeeper.step ping")
    assert in_callers_trace(step)
    assert step.parent is not None and step.parent.span_id == PARENT_ID
