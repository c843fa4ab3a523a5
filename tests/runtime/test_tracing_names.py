"""Span names and times as :class:`~statekeeper.runtime.tracing.Tracing` makes them.

The names are kept in a table per kind (made once, not per span); event names come from
callers, so the table must stay bounded and a name must never be another's.
"""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from statekeeper import VirtualClock
from statekeeper.runtime.tracing import Tracing
from statekeeper.storage.records import EffectRecord


def tracing() -> tuple[Tracing, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Tracing(provider, VirtualClock()), exporter


def attempt(name: str) -> EffectRecord:
    return EffectRecord(key=f"k-{name}", instance="i-1", name=name, args=None, attempts=1)


def test_every_span_has_its_own_name_and_the_table_of_names_stays_bounded() -> None:
    made, exporter = tracing()
    names = [f"effect-{n}" for n in range(5000)] + ["effect-0", "effect-4999"]
    for name in names:
        made.effect(attempt(name), "chart", "ok", None, 10.0, 10.5, 0.0)
    assert [s.name for s in exporter.get_finished_spans()] == [
        f"statekeeper.effect {name}" for name in names]
    assert 0 < len(made._effect_names) <= 4096  # the bound is the point


def test_an_attempt_span_runs_from_its_start_to_its_end() -> None:
    made, exporter = tracing()
    made.effect(attempt("ring"), "chart", "error", "boom", 10.25, 10.5, 2.0)
    made.effect(attempt("ring"), "chart", "ok", None, None, 11.0, 0.0)  # refused before
    first, second = exporter.get_finished_spans()
    assert (first.start_time, first.end_time) == (10_250_000_000, 10_500_000_000)
    assert (second.start_time, second.end_time) == (11_000_000_000, 11_000_000_000)
    assert first.name == second.name == "statekeeper.effect ring"
    assert (first.attributes or {})["statekeeper.effect.retry_in"] == 2.0
