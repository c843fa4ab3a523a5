"""The trace context of a send or a start: the caller's ``traceparent``, checked, or the current one.

Why the check is here, on the caller's thread: a malformed header must be refused before
anything is queued (nothing of it written), with an error that says what a good one is.
Why the current OpenTelemetry context only with tracing on: reading it costs a context
lookup per call, and a client that makes no spans has no use for it.
"""

from __future__ import annotations

from typing import Any

from ..runtime.tracing import Tracing, parse_traceparent
from .errors import ArgumentTypeError, InvalidTraceparent

__all__ = ["trace_context"]


def trace_context(tracing: Tracing | None, method: str, traceparent: Any) -> str | None:
    """The ``traceparent`` a request carries: the one given, or the current span's.

    Raises:
        ArgumentTypeError: ``traceparent`` is not a string (nor ``None``).
        InvalidTraceparent: it is not a W3C ``traceparent``.

    """
    if traceparent is None:
        return None if tracing is None else tracing.current()
    if type(traceparent) is not str:
        raise ArgumentTypeError(f"{method}() traceparent= takes the W3C traceparent header "
                                f"(a str) or None, not {type(traceparent).__name__}")
    if parse_traceparent(traceparent) is None:
        raise InvalidTraceparent(method, traceparent)
    return traceparent
