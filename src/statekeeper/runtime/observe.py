"""What the engine tells observers of a committed group: log records, metrics and spans.

One call per group commit, after it is durable, so that with logging, metrics and tracing
off the cost is one logger level check and two ``None`` tests per group, not per record.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from .logs import TRANSITIONS, log_transitions
from .metrics import Metrics
from .planner import Plan
from .requests import Request
from .tracing import Tracing

__all__ = ["Observed", "after_group"]


class Observed(Protocol):
    """What :func:`after_group` reads of the engine: its observers' settings."""

    log_level: int
    metrics: Metrics | None
    tracing: Tracing | None


def after_group(engine: Observed, planned: Sequence[tuple[Request, Plan]],
                lost: set[int]) -> None:
    """Log, count and trace the commits of ``planned`` but those whose ids are in ``lost``."""
    if (metrics := engine.metrics) is not None:  # first: a scrape after a record is read
        metrics.committed(planned, lost)  # finds its numbers
    if (tracing := engine.tracing) is not None:
        tracing.committed(planned, lost)
    level = engine.log_level
    if TRANSITIONS.isEnabledFor(level):
        log_transitions(level, [(p.commit, p.since) for _, p in planned
                                if p.commit is not None and id(p.commit) not in lost])
