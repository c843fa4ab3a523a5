"""What the operated demo shows of its sinks: the JSON log file, the metrics, the spans.

Split from :mod:`statekeeper.examples.food_delivery_ops` (at its size limit).  Each function
prints through ``say`` and returns what the demo checks.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["logs_shown", "metrics_available", "metrics_shown", "spans_shown", "tracer_provider"]

#: prints one line of the demo's output
Say = Callable[[str], None]


def tracer_provider() -> tuple[Any, Any]:
    """An SDK tracer provider and the exporter that keeps its finished spans.

    The application brings the SDK and its exporter (a collector's OTLP exporter in
    production); statekeeper needs only the API.  ``(None, None)`` without the SDK.
    """
    try:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    except ImportError:
        return None, None
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def spans_shown(say: Say, exporter: Any, path: Path, request_trace: str) -> bool:
    """Write the spans to ``path``, show the request's trace, say if the charge is in it."""
    with path.open("w", encoding="utf-8") as lines:
        for span in exporter.get_finished_spans():
            lines.write(span.to_json(indent=None) + "\n")
    spans = [json.loads(line) for line in path.read_text().splitlines() if line]
    trace = "0x" + request_trace.split("-")[1]
    ours = [span for span in spans if span["context"]["trace_id"] == trace]
    say(f"== OpenTelemetry spans ({len(spans)} in {path.name}); alice's checkout trace "
            f"{request_trace.split('-')[1]}:")
    for span in ours:
        attributes = span["attributes"]
        say(f"  {span['name']:<34} {attributes.get('statekeeper.instance', '')}"
                f"  {attributes.get('statekeeper.outcome', '')}")
    return any(span["name"] == "statekeeper.effect charge" for span in ours)


def logs_shown(say: Say, path: Path) -> int:
    """Show a refusal, its log row and an effect attempt as logged; the number of refusals."""
    say(f"== structured logs (JsonFormatter), one JSON object a line, in {path.name}")
    lines = [json.loads(line) for line in path.read_text().splitlines() if line]
    refusals = [line for line in lines if line["logger"] == "statekeeper.authz"]
    shown = [refusals[0],
             next(x for x in lines if x["logger"] == "statekeeper.transitions"
                  and x["outcome"] == "denied"),
             next(x for x in lines if x["logger"] == "statekeeper.effects")]
    for line in shown:
        say("  " + json.dumps({k: line[k] for k in (
            "level", "logger", "instance", "event", "source", "target", "effect", "actor",
            "outcome", "reason") if line.get(k) not in (None, "")}))
    say(f"  ({len(lines)} lines; {len(refusals)} refusals on statekeeper.authz)")
    return len(refusals)


def metrics_shown(say: Say, chart: str) -> bool:
    """Scrape the process's registry over HTTP, as Prometheus would; show the order's lines."""
    from statekeeper.runtime.metrics import serve_metrics

    server = serve_metrics(0, addr="127.0.0.1")
    try:
        url = f"http://127.0.0.1:{server.port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
    finally:
        server.close()
    say(f"== Prometheus metrics, scraped from {url}")
    ours = [line for line in text.splitlines()
            if f'chart="{chart}"' in line and "_created{" not in line]
    wanted = [line for line in ours if 'outcome="denied"' in line
              or line.startswith("statekeeper_effect_attempts_total{")
              or (line.startswith("statekeeper_state_duration_seconds_count{")
              and 'state="OfferedToRestaurant"' in line)]
    for line in wanted:
        say(f"  {line}")
    return any('outcome="denied"' in line for line in wanted)


def metrics_available() -> bool:
    """Whether prometheus-client (the ``metrics`` extra) is installed."""
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        return False
    return True
