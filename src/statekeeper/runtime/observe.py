"""What the engine tells observers of a committed group: log records and metrics.

One call per group commit, after it is durable, so that with logging and metrics off the
cost is one logger level check and one ``None`` test per group, not per record.
"""

from __future__ import annotations

from collections.abc import Sequence

from .logs import TRANSITIONS, log_transitions
from .metrics import Metrics
from .planner import Plan
from .requests import Request

__all__ = ["after_group"]


def after_group(log_level: int, metrics: Metrics | None,
                planned: Sequence[tuple[Request, Plan]], lost: set[int]) -> None:
    """Log and count the commits of ``planned`` but those whose ids are in ``lost``."""
    if metrics is not None:  # first: a scrape after a record is read finds its numbers
        metrics.committed(planned, lost)
    if TRANSITIONS.isEnabledFor(log_level):
        log_transitions(log_level, [(p.commit, p.since) for _, p in planned
                                    if p.commit is not None and id(p.commit) not in lost])
