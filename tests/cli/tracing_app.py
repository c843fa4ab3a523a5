"""The ``worker_app`` effects, in a worker whose global tracer provider keeps its spans.

``statekeeper worker --tracing --module tracing_app``: the spans end in the SDK's
``InMemorySpanExporter``; when the process exits they are written, one JSON object a line,
to the file ``SK_TEST_SPANS`` names, for the test in the other process to read.
"""

from __future__ import annotations

import atexit
import json
import os

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from worker_app import EFFECTS

__all__ = ["EFFECTS"]

_exporter = InMemorySpanExporter()
_provider = TracerProvider()
_provider.add_span_processor(SimpleSpanProcessor(_exporter))
trace.set_tracer_provider(_provider)


@atexit.register
def _write() -> None:
    with open(os.environ["SK_TEST_SPANS"], "w") as out:
        for span in _exporter.get_finished_spans():
            assert span.context is not None
            out.write(json.dumps({
                "name": span.name, "trace_id": span.context.trace_id,
                "span_id": span.context.span_id,
                "parent_id": None if span.parent is None else span.parent.span_id,
                "attributes": dict(span.attributes or {})}) + "\n")
