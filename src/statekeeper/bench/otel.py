"""The OpenTelemetry SDK set-up the benchmarks share: a provider as a deployment makes one.

Why one helper: ``bench features`` and ``bench tracing`` must measure the same thing, the
SDK's ``TracerProvider`` with a ``BatchSpanProcessor`` (what a real deployment uses: spans
leave on a thread of their own, in batches), and an exporter that counts the spans and drops
them, so that a collector's cost is not counted as statekeeper's and a run can check that its
spans were really made.  Needs ``opentelemetry-sdk`` (in the ``dev`` extra).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider

__all__ = ["SpanCount", "sdk_available", "sdk_provider"]


class SpanCount:
    """How many spans the provider's exporter was handed (read after ``provider.shutdown()``)."""

    def __init__(self) -> None:
        self.spans = 0


def sdk_available() -> bool:
    """Whether ``opentelemetry-sdk`` is installed (the tracing runs are skipped without it)."""
    try:
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError:
        return False
    return True


def sdk_provider(ratio: float) -> tuple[TracerProvider, SpanCount]:
    """A ``TracerProvider`` sampling ``ratio`` of the traces, its spans counted and dropped.

    The sampler is ``ParentBased(TraceIdRatioBased(ratio))``, the usual production choice:
    a span with a sampled parent is sampled, a root span by its trace id.
    """
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    count = SpanCount()

    class Counting(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            count.spans += len(spans)
            return SpanExportResult.SUCCESS

    provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(ratio)))
    provider.add_span_processor(BatchSpanProcessor(Counting()))
    return provider, count


