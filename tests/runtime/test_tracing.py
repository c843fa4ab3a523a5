"""OpenTelemetry spans of steps and effect attempts, checked with the SDK's in-memory exporter.

Every test runs on every store (memory, SQLite, PostgreSQL): the trace context an effect or
a timer continues is the one its row kept, read back from the store.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from policy_charts import Downstream, order

from statekeeper import (
    AsyncClient,
    Chart,
    Effect,
    EventNotAccepted,
    Final,
    InvalidTraceparent,
    State,
    VirtualClock,
)
from statekeeper.client import Client
from statekeeper.runtime.tracing import format_traceparent, parse_traceparent

TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
PARENT_ID = 0xB7AD6B7169203331
CALLER = format_traceparent(TRACE_ID, PARENT_ID, 1)


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> TracerProvider:
    made = TracerProvider()
    made.add_span_processor(SimpleSpanProcessor(exporter))
    return made


@pytest.fixture
def traced(store_url: str, clock: VirtualClock, provider: TracerProvider) -> Iterator[Client]:
    with Client(store_url, clock=clock, worker=False, tracing=provider) as made:
        yield made


def spans(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == name]


def one(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    found = spans(exporter, name)
    assert len(found) == 1, [s.name for s in exporter.get_finished_spans()]
    return found[0]


def child_of(span: ReadableSpan, trace_id: int, span_id: int) -> bool:
    return (span.context is not None and span.context.trace_id == trace_id
            and span.parent is not None and span.parent.span_id == span_id)


def reminder() -> Chart:
    """``idle --book--> booked``; a day later ``due``, whose entry rings someone."""
    return Chart("reminder", version=1, initial="idle", states={
        "idle": State(on={"book": "booked"}),
        "booked": State(after={"1d": "due"}),
        "due": State(entry=[Effect("ring")], on={"done.effect.ring": "done"}),
        "done": Final(),
    })


def _ring(args: object, key: str) -> None:
    pass


RING = {"ring": _ring}


def test_a_step_span_continues_the_callers_trace(traced: Client, clock: VirtualClock,
                                                 exporter: InMemorySpanExporter) -> None:
    traced.register(order(), effects={"charge": Downstream().charge})
    traced.start("order", "o-1")
    at = clock.now()
    traced.send("o-1", "pay", traceparent=CALLER)
    step = one(exporter, "statekeeper.step pay")
    assert child_of(step, TRACE_ID, PARENT_ID)
    assert step.parent is not None and step.parent.is_remote
    assert dict(step.attributes or {}) == {
        "statekeeper.instance": "o-1", "statekeeper.chart": "order",
        "statekeeper.chart_version": "1", "statekeeper.event": "pay", "statekeeper.seq": 2,
        "statekeeper.source": ("placed",), "statekeeper.target": ("charging",),
        "statekeeper.outcome": "applied"}
    assert step.start_time == int(at * 1e9) and step.status.status_code is StatusCode.UNSET
    # the transition row keeps the caller's context (it named no trace_id of its own)
    assert [r.trace_id for r in traced.history("o-1")] == [None, CALLER]
    assert [e.traceparent for e in traced.store.effects("o-1")] == [CALLER]


def test_effect_attempts_continue_the_trace_their_row_kept(
        traced: Client, clock: VirtualClock, exporter: InMemorySpanExporter) -> None:
    api = Downstream(failures=1)
    traced.register(order(), effects={"charge": api.charge})
    traced.start("order", "o-1")
    traced.send("o-1", "pay", traceparent=CALLER)
    traced.worker.run_until_idle()
    clock.advance(1.0)  # the retry's backoff
    traced.worker.run_until_idle()
    assert traced.get("o-1").state == "paid"
    attempts = spans(exporter, "statekeeper.effect charge")
    assert [(s.attributes or {}).get("statekeeper.effect.attempt") for s in attempts] == [1, 2]
    assert [(s.attributes or {}).get("statekeeper.outcome") for s in attempts] == ["error", "ok"]
    assert all(child_of(s, TRACE_ID, PARENT_ID) for s in attempts)
    failed, worked = attempts
    assert failed.status.status_code is StatusCode.ERROR
    assert "payments down" in str((failed.attributes or {}).get("statekeeper.error"))
    assert (failed.attributes or {}).get("statekeeper.effect.retry_in") == 1.0
    assert worked.status.status_code is StatusCode.UNSET
    assert dict(worked.attributes or {})["statekeeper.effect"] == "charge"
    # and the step its outcome made is in the same trace
    assert child_of(one(exporter, "statekeeper.step done.effect.charge"), TRACE_ID, PARENT_ID)


def test_a_timer_fired_days_later_continues_the_trace_of_the_step_that_set_it(
        traced: Client, clock: VirtualClock, exporter: InMemorySpanExporter) -> None:
    traced.register(reminder(), effects=RING)
    traced.start("reminder", "r-1")
    traced.send("r-1", "book", traceparent=CALLER)
    assert [t.traceparent for t in traced.store.timers("r-1")] == [CALLER]
    clock.advance(3 * 86400.0)  # three days
    fired_at = clock.now()
    traced.worker.run_until_idle()
    assert traced.get("r-1").state == "done"
    fired = [s for s in exporter.get_finished_spans()
             if s.name.startswith("statekeeper.step statekeeper.after.")]
    assert len(fired) == 1 and child_of(fired[0], TRACE_ID, PARENT_ID)
    assert fired[0].start_time == int(fired_at * 1e9)
    assert (fired[0].attributes or {})["statekeeper.target"] == ("due",)
    # the effect the timer's step ran, and the step of its outcome: the same trace still
    assert child_of(one(exporter, "statekeeper.effect ring"), TRACE_ID, PARENT_ID)
    assert child_of(one(exporter, "statekeeper.step done.effect.ring"), TRACE_ID, PARENT_ID)


def test_the_current_context_is_used_when_the_caller_gives_none(
        traced: Client, provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
    traced.register(reminder(), effects=RING)
    tracer = provider.get_tracer("the application")
    with tracer.start_as_current_span("POST /reminders") as request:
        traced.start("reminder", "r-1")
        traced.send("r-1", "book")
    context = request.get_span_context()
    assert child_of(one(exporter, "statekeeper.step statekeeper.start"), context.trace_id,
                    context.span_id)
    assert child_of(one(exporter, "statekeeper.step book"), context.trace_id, context.span_id)
    expected = format_traceparent(context.trace_id, context.span_id, int(context.trace_flags))
    assert [t.traceparent for t in traced.store.timers("r-1")] == [expected]


def test_a_step_without_any_context_starts_a_trace_of_its_own(
        traced: Client, exporter: InMemorySpanExporter) -> None:
    traced.register(reminder(), effects=RING)
    traced.start("reminder", "r-1")
    traced.send("r-1", "book")
    started, booked = (one(exporter, f"statekeeper.step {e}")
                       for e in ("statekeeper.start", "book"))
    assert started.parent is None and booked.parent is None
    assert started.context is not None and booked.context is not None
    assert started.context.trace_id != booked.context.trace_id
    assert [t.traceparent for t in traced.store.timers("r-1")] == [None]


def test_a_rejected_event_is_a_span_with_an_error_status(
        traced: Client, exporter: InMemorySpanExporter) -> None:
    traced.register(reminder(), effects=RING)
    traced.start("reminder", "r-1")
    with pytest.raises(EventNotAccepted):
        traced.send("r-1", "ring", traceparent=CALLER)
    span = one(exporter, "statekeeper.step ring")
    assert (span.attributes or {})["statekeeper.outcome"] == "rejected"
    assert span.status.status_code is StatusCode.ERROR and child_of(span, TRACE_ID, PARENT_ID)
    assert traced.history("r-1")[-1].trace_id == CALLER


def test_the_callers_trace_id_wins_on_the_transition_row(traced: Client) -> None:
    traced.register(reminder(), effects=RING)
    traced.start("reminder", "r-1", traceparent=CALLER)
    traced.send("r-1", "book", trace_id="req-42", traceparent=CALLER)
    assert [r.trace_id for r in traced.history("r-1")] == [CALLER, "req-42"]
    assert [t.traceparent for t in traced.store.timers("r-1")] == [CALLER]


MALFORMED = [
    "",
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",  # no flags
    "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01",  # uppercase
    "00-00000000000000000000000000000000-b7ad6b7169203331-01",  # trace id all zeros
    "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",  # parent id all zeros
    "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  # version ff
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",  # v00 has 4 fields
    " 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "00-0af7651916cd43dd8448eb211c80319-cb7ad6b7169203331-01",
    "trace-me",
]


@pytest.mark.parametrize("bad", MALFORMED)
def test_a_malformed_traceparent_is_refused_with_nothing_written(
        store_url: str, clock: VirtualClock, bad: str) -> None:
    with Client(store_url, clock=clock, worker=False) as client:  # tracing off: checked too
        client.register(reminder(), effects=RING)
        client.start("reminder", "r-1")
        with pytest.raises(InvalidTraceparent, match=r"send\(\) traceparent=.*is not a W3C "
                                                     r"traceparent: expected '00-"):
            client.send("r-1", "book", traceparent=bad)
        with pytest.raises(ValueError, match="not a W3C traceparent"):
            client.start("reminder", "r-2", traceparent=bad)
        assert [r.event for r in client.history("r-1")] == ["statekeeper.start"]
        assert client.get("r-1").state == "idle" and client.store.timers("r-1") == []
        assert [s.id for s in client.query(chart="reminder")] == ["r-1"]


def test_a_traceparent_of_a_later_version_is_taken(traced: Client) -> None:
    later = "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-comes-next"
    assert parse_traceparent(later) == (TRACE_ID, PARENT_ID, 1)
    traced.register(reminder(), effects=RING)
    traced.start("reminder", "r-1")
    assert traced.send("r-1", "book", traceparent=later).state == "booked"


def test_a_traceparent_that_is_not_a_string_is_refused(traced: Client) -> None:
    traced.register(reminder(), effects=RING)
    traced.start("reminder", "r-1")
    with pytest.raises(TypeError, match=r"traceparent= takes the W3C traceparent header"):
        traced.send("r-1", "book", traceparent=b"00-...")  # type: ignore[arg-type]


def test_an_unsampled_caller_makes_no_spans(traced: Client,
                                            exporter: InMemorySpanExporter) -> None:
    # the SDK's default sampler follows the parent: flags 00 say the caller does not record
    traced.register(reminder(), effects=RING)
    traced.start("reminder", "r-1")
    exporter.clear()
    unsampled = format_traceparent(TRACE_ID, PARENT_ID, 0)
    traced.send("r-1", "book", traceparent=unsampled)
    assert exporter.get_finished_spans() == ()
    assert [t.traceparent for t in traced.store.timers("r-1")] == [unsampled]


def test_tracing_off_makes_no_spans_but_keeps_the_context(
        store_url: str, clock: VirtualClock, provider: TracerProvider,
        exporter: InMemorySpanExporter) -> None:
    with Client(store_url, clock=clock, worker=False) as client:
        assert client.engine.tracing is None and client.worker.runner.tracing is None
        client.register(reminder(), effects=RING)
        with provider.get_tracer("app").start_as_current_span("request"):
            client.start("reminder", "r-1")  # the current context is not read: tracing is off
            client.send("r-1", "book", traceparent=CALLER)
        assert [s.name for s in exporter.get_finished_spans()] == ["request"]
        assert [t.traceparent for t in client.store.timers("r-1")] == [CALLER]


def test_an_async_client_carries_the_traceparent(store_url: str, clock: VirtualClock,
                                                 provider: TracerProvider,
                                                 exporter: InMemorySpanExporter) -> None:
    async def main() -> None:
        async with AsyncClient(store_url, clock=clock, worker=False,
                               tracing=provider) as client:
            client.register(reminder(), effects=RING)
            await client.start("reminder", "r-1", traceparent=CALLER)
            await client.send("r-1", "book", traceparent=CALLER)
            future = await client.send("r-1", "book", traceparent=CALLER, wait=False)
            with pytest.raises(EventNotAccepted):
                await future
            with pytest.raises(InvalidTraceparent):
                await client.send("r-1", "book", traceparent="nope")

    asyncio.run(main())
    steps = [s for s in exporter.get_finished_spans() if s.name.startswith("statekeeper.step")]
    assert [s.name for s in steps] == ["statekeeper.step statekeeper.start",
                                       "statekeeper.step book", "statekeeper.step book"]
    assert all(child_of(s, TRACE_ID, PARENT_ID) for s in steps)


@pytest.mark.parametrize("bad", ["yes", 1, object()])
def test_a_bad_tracing_argument_is_refused(bad: object) -> None:
    with pytest.raises(TypeError, match="tracing= takes True, False or an opentelemetry "
                                        "TracerProvider"):
        Client("memory://", worker=False, tracing=bad)  # type: ignore[arg-type]


def test_tracing_true_uses_the_global_provider() -> None:
    script = textwrap.dedent("""
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
            InMemorySpanExporter)
        from statekeeper import Chart, Final, State
        from statekeeper.client import Client

        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        chart = Chart("door", version=1, initial="shut", states={
            "shut": State(on={"open": "open"}), "open": Final()})
        with Client("memory://", worker=False, tracing=True) as client:
            client.register(chart)
            client.start("door", "d-1")
            client.send("d-1", "open")
        print(sorted(s.name for s in exporter.get_finished_spans()))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "['statekeeper.step open', 'statekeeper.step statekeeper.start']"


def test_with_tracing_off_nothing_imports_opentelemetry_and_on_it_is_a_named_error() -> None:
    script = textwrap.dedent("""
        import sys

        import statekeeper
        from statekeeper import Chart, Final, State
        from statekeeper.client import Client

        chart = Chart("door", version=1, initial="shut", states={
            "shut": State(on={"open": "open"}), "open": Final()})
        with Client("memory://", worker=False) as client:
            client.register(chart)
            client.start("door", "d-1")
            client.send("d-1", "open",
                        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
            client.worker.run_until_idle()
        assert not [m for m in sys.modules if m.startswith("opentelemetry")], "imported"
        sys.modules["opentelemetry"] = None  # as if opentelemetry-api were not installed
        try:
            Client("memory://", worker=False, tracing=True)
        except statekeeper.TracingUnavailable as exc:
            assert isinstance(exc, ImportError)
            print(exc)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == ("tracing needs opentelemetry-api: pip install "
                           "'statekeeper[tracing]' (or leave tracing off)")


def test_an_effect_attempts_log_record_names_the_trace_its_row_kept(
        traced: Client, caplog: pytest.LogCaptureFixture) -> None:
    traced.register(order(), effects={"charge": Downstream().charge})
    traced.start("order", "o-1")
    traced.send("o-1", "pay", traceparent=CALLER)
    with caplog.at_level(logging.DEBUG, logger="statekeeper.effects"):
        traced.worker.run_until_idle()
    attempts = [r for r in caplog.records if r.name == "statekeeper.effects"]
    assert [(r.__dict__["effect"], r.__dict__["trace_id"]) for r in attempts] == [
        ("charge", CALLER)]

