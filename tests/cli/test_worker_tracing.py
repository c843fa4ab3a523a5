"""``statekeeper worker --tracing``: an effect run by another process continues the caller's trace.

The application sends inside a span of its own (its current context, no ``traceparent=``
given); the step keeps that context with the outbox row; the worker, a real second process,
claims the row, runs the effect and commits its outcome, each a span in the caller's trace.
The worker's spans come back through a file its module writes when the process exits.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from worker_proc import CHART, WorkerProcess

from statekeeper.cli.main import main
from statekeeper.client import Client
from statekeeper.io.dictform import load_chart

pytestmark = pytest.mark.slow


@pytest.fixture
def chart_file(tmp_path: Path) -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(CHART)
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    made: str = (request.getfixturevalue("pg_url") if request.param == "postgres"
                 else f"sqlite:///{tmp_path / 'jobs.db'}")
    with Client(made, worker=False):
        pass  # an application creates the store; the worker serves an existing one
    return made


@pytest.fixture
def processes() -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for proc in started:
        proc.close()


def _not_here(args: object, key: str) -> None:
    raise AssertionError("the application process ran an effect: the worker should")


def test_an_effect_run_by_a_worker_process_continues_the_callers_trace(
        url: str, chart_file: Path, tmp_path: Path, processes: list[WorkerProcess]) -> None:
    spans_file = tmp_path / "worker-spans.jsonl"
    proc = WorkerProcess("--db", url, "--chart", str(chart_file), "--module", "tracing_app",
                         "--tracing", "--poll", "0.2", env={"SK_TEST_SPANS": str(spans_file)})
    processes.append(proc)
    proc.expect(r"worker worker-\w+ serving job on")
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with Client(url, worker=False, tracing=provider) as client:
        client.register(load_chart(chart_file), effects={
            "charge": _not_here, "ring": _not_here, "hold": _not_here})
        client.start("job", "j-1")
        with provider.get_tracer("the application").start_as_current_span("POST /jobs"):
            client.send("j-1", "go")
        proc.expect(r"^ran j-1:")
        assert proc.stop() == 0, "\n".join(proc.seen)  # drained: the outcome is committed
        assert client.get("j-1").state == "done"
    caller = next(s for s in exporter.get_finished_spans() if s.name == "POST /jobs")
    assert caller.context is not None
    trace_id, span_id = caller.context.trace_id, caller.context.span_id
    here = {s.name: s for s in exporter.get_finished_spans()}
    go = here["statekeeper.step go"]
    assert go.context is not None and go.context.trace_id == trace_id
    assert go.parent is not None and go.parent.span_id == span_id
    there = [json.loads(line) for line in spans_file.read_text().splitlines()]
    by_name: dict[str, Any] = {s["name"]: s for s in there}
    assert set(by_name) == {"statekeeper.effect charge", "statekeeper.step done.effect.charge"}
    for span in there:  # made in the other process, in the caller's trace, under its span
        assert (span["trace_id"], span["parent_id"]) == (trace_id, span_id), span
    assert by_name["statekeeper.effect charge"]["attributes"] == {
        "statekeeper.instance": "j-1", "statekeeper.chart": "job",
        "statekeeper.effect": "charge", "statekeeper.effect.key": "j-1:1:charge",
        "statekeeper.effect.attempt": 1, "statekeeper.outcome": "ok"}


def test_tracing_without_opentelemetry_is_a_named_error(
        tmp_path: Path, chart_file: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    with Client(url, worker=False):
        pass
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # as if it were not installed
    code = main(["worker", "--db", url, "--chart", str(chart_file), "--module", "worker_app",
                 "--tracing"])
    assert code == 1
    assert "--tracing: tracing needs opentelemetry-api: pip install 'statekeeper[tracing]'" \
        in capsys.readouterr().err
