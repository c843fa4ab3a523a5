"""OpenTelemetry spans, made after each commit: one per committed step, one per effect attempt.

Why after the commit, from what it wrote: the step is pure and a span must tell of what is
durable.  So the engine makes the spans of a group where it logs and counts it
(:mod:`~statekeeper.runtime.observe`), after the group commit, with the times it recorded
(the step's ``at`` as the start, the commit's as the end); the effect runner makes an
attempt's span when the attempt has finished, from its start and end.  With tracing off the
engine tests one attribute per committed group and the runner one per attempt.

How a trace crosses processes and days: the caller's W3C ``traceparent`` (given, or the
current OpenTelemetry context of the sending thread) is the parent of the step's span, and
the step keeps it with every outbox row and timer row it writes (and in its transition row's
``trace_id`` unless the caller named one).  An effect claimed by a worker in another process
reads it from its row, so the attempt's span, and the span of the step its outcome event
makes, are in the caller's trace; so is the step a timer fires days later.  A step with no
trace context at all starts a trace of its own, and its effects and timers start their own.

``opentelemetry-api`` is an optional extra (``pip install statekeeper[tracing]``): it is
imported when a :class:`Tracing` is made, never by ``import statekeeper``; without it that
raises :class:`TracingUnavailable`.  The application brings the SDK, its exporters and its
sampler, as for any instrumented library.

Span attributes never hold an instance's data or an event's payload, only names and ids.
They are set once the span is started, only when the sampler keeps it, in one
``set_attributes`` call: the SDK's attribute checks are two fifths of a sampled span's cost
(one call per attribute adds a lock and a check each; passed to ``start_span`` they cost
the same for a sampled span and are built for every dropped one), and a sampled-out span
then costs its ids and the sampler's decision.  (A sampler therefore sees no statekeeper
attributes.)  The rest of a span is the SDK's; ours is kept small: names made once per
event or effect, parent contexts kept per ``traceparent``, the times the runtime recorded
(docs/observability.md, "What tracing costs").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..clock import Clock
from ..core.errors import StatekeeperError
from ..storage.records import EffectRecord
from .planner import Plan
from .requests import Request

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Tracer, TracerProvider

__all__ = [
    "EFFECT_SPAN",
    "STEP_SPAN",
    "Tracing",
    "TracingUnavailable",
    "format_traceparent",
    "parse_traceparent",
    "tracing_for",
]

#: the name of a step's span: ``statekeeper.step <event>``
STEP_SPAN = "statekeeper.step"
#: the name of an effect attempt's span: ``statekeeper.effect <effect>``
EFFECT_SPAN = "statekeeper.effect"
#: outcomes of a transition row that answered the caller with an error
_REFUSED = frozenset({"rejected", "denied"})
#: version, trace id, parent (span) id, flags; a later version may add fields after a "-"
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")


class TracingUnavailable(StatekeeperError, ImportError):
    """Tracing was asked for, but ``opentelemetry-api`` is not installed."""

    def __init__(self) -> None:
        super().__init__("tracing needs opentelemetry-api: pip install 'statekeeper[tracing]' "
                         "(or leave tracing off)")


def parse_traceparent(value: str) -> tuple[int, int, int] | None:
    """``(trace_id, span_id, flags)`` of a W3C ``traceparent``, or ``None`` if malformed.

    Follows the W3C Trace Context rules: lowercase hex; version ``ff`` is invalid; version
    ``00`` has exactly four fields; a trace id or a parent id of only zeros is invalid.
    """
    found = _TRACEPARENT.fullmatch(value)
    if found is None:
        return None
    version, trace_id, span_id, flags, rest = found.groups()
    if version == "ff" or (version == "00" and rest is not None):
        return None
    trace, span = int(trace_id, 16), int(span_id, 16)
    if not trace or not span:
        return None
    return trace, span, int(flags, 16)


def format_traceparent(trace_id: int, span_id: int, flags: int) -> str:
    """The version ``00`` ``traceparent`` of a span context."""
    return f"00-{trace_id:032x}-{span_id:016x}-{flags:02x}"


def _otel() -> Any:
    try:
        from opentelemetry import context, trace
    except ImportError:
        raise TracingUnavailable from None
    return trace, context


class Tracing:
    """Makes statekeeper's spans with one ``TracerProvider``'s tracer (see :func:`tracing_for`)."""

    def __init__(self, provider: TracerProvider | None, clock: Clock) -> None:
        trace, context = _otel()
        self._trace = trace
        self._empty: Context = context.Context()
        self._error = trace.Status(trace.StatusCode.ERROR)
        if provider is None:
            provider = trace.get_tracer_provider()
        self.tracer: Tracer = provider.get_tracer("statekeeper")
        self.clock = clock
        #: parent contexts by traceparent: a request's header is the parent of its step, of
        #: the steps its events chain, and of its effects' attempts and outcome steps
        self._parents: dict[str, Context] = {}
        #: span names by event and by effect: made once, not per span
        self._step_names: dict[str, str] = {}
        self._effect_names: dict[str, str] = {}

    # -- contexts ----------------------------------------------------------------------------

    def current(self) -> str | None:
        """The ``traceparent`` of the calling thread's current span (``None``: there is none)."""
        found = self._trace.get_current_span().get_span_context()
        if not found.is_valid:
            return None
        return format_traceparent(found.trace_id, found.span_id, int(found.trace_flags))

    def parent(self, traceparent: str | None) -> Context:
        """The context whose span is ``traceparent``'s (an empty one: none, or malformed).

        A stored value is not trusted: a malformed one (a row edited by hand) starts a trace
        of its own instead of failing the step or the attempt.
        """
        if traceparent is None:
            return self._empty
        found = self._parents.get(traceparent)
        if found is not None:
            return found
        parsed = parse_traceparent(traceparent)
        if parsed is None:
            return self._empty
        trace = self._trace
        remote = trace.SpanContext(parsed[0], parsed[1], is_remote=True,
                                   trace_flags=trace.TraceFlags(parsed[2] & 0xFF))
        made: Context = trace.set_span_in_context(trace.NonRecordingSpan(remote), self._empty)
        if len(self._parents) >= 4096:  # the engine's and the effect threads': a race
            self._parents.clear()  # costs at most a context made twice
        self._parents[traceparent] = made
        return made

    # -- the engine's group ------------------------------------------------------------------

    def committed(self, planned: Sequence[tuple[Request, Plan]], lost: set[int]) -> None:
        """A span per committed step of ``planned`` (less the commits whose ids are in ``lost``)."""
        end = int(self.clock.now() * 1_000_000_000)
        start_span, empty, names = self.tracer.start_span, self._empty, self._step_names
        for request, plan in planned:
            commit = plan.commit
            if commit is None or id(commit) in lost or not commit.transitions:
                continue
            first, last = commit.transitions[0], commit.transitions[-1]
            name = names.get(first.event) or self._name(names, STEP_SPAN, first.event)
            traceparent = request.traceparent
            span = start_span(name, empty if traceparent is None else self.parent(traceparent),
                              start_time=int(first.at * 1_000_000_000))
            if span.is_recording():  # a span the sampler dropped costs no attributes
                instance = commit.instance
                span.set_attributes({
                    "statekeeper.instance": instance.id, "statekeeper.chart": instance.chart,
                    "statekeeper.chart_version": instance.version,
                    "statekeeper.event": first.event, "statekeeper.seq": last.seq,
                    "statekeeper.source": first.source, "statekeeper.target": last.target,
                    "statekeeper.outcome": last.outcome})
                if last.outcome in _REFUSED:
                    span.set_status(self._error)
            at = int(last.at * 1_000_000_000)
            span.end(end if end > at else at)

    # -- the effect runner -------------------------------------------------------------------

    def effect(self, effect: EffectRecord, chart: str, outcome: str, error: str | None,
               began: float | None, at: float, retry_in: float) -> None:
        """A span for one finished attempt of ``effect``, in the trace its row names."""
        names, traceparent = self._effect_names, effect.traceparent
        span = self.tracer.start_span(
            names.get(effect.name) or self._name(names, EFFECT_SPAN, effect.name),
            self._empty if traceparent is None else self.parent(traceparent),
            start_time=int((at if began is None else began) * 1_000_000_000))
        if not span.is_recording():  # dropped by the sampler: no attributes to clean
            span.end(int(at * 1_000_000_000))
            return
        attributes: dict[str, Any] = {
            "statekeeper.instance": effect.instance, "statekeeper.chart": chart,
            "statekeeper.effect": effect.name, "statekeeper.effect.key": effect.key,
            "statekeeper.effect.attempt": effect.attempts, "statekeeper.outcome": outcome}
        if error is not None:
            attributes["statekeeper.error"] = error
        if retry_in:
            attributes["statekeeper.effect.retry_in"] = retry_in
        span.set_attributes(attributes)
        if outcome != "ok":
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, error))
        span.end(int(at * 1_000_000_000))

    @staticmethod
    def _name(names: dict[str, str], kind: str, of: str) -> str:
        """The name of the spans of ``kind`` for ``of`` (an event, an effect), kept in ``names``."""
        if len(names) >= 4096:  # event names come from callers: keep the table bounded
            names.clear()
        name = names[of] = f"{kind} {of}"
        return name


def tracing_for(tracing: Any, clock: Clock) -> Tracing | None:
    """The :class:`Tracing` a ``tracing=`` argument asks for (``None``: off).

    ``True`` uses OpenTelemetry's global tracer provider (set by the application, or by
    ``opentelemetry-instrument``); a ``TracerProvider`` is used as given.

    Raises:
        TracingUnavailable: ``opentelemetry-api`` is not installed.
        TypeError: ``tracing`` is neither a bool nor a ``TracerProvider``.

    """
    if tracing is False or tracing is None:
        return None
    trace, _ = _otel()
    if tracing is True:
        return Tracing(None, clock)
    if not isinstance(tracing, trace.TracerProvider):
        raise TypeError(f"tracing= takes True, False or an opentelemetry TracerProvider, not "
                        f"{tracing!r}")
    return Tracing(tracing, clock)
