"""The planner's call of a chart's shadow: the same event stepped on the new version too.

Kept out of :mod:`.planner` (at its size limit); a shadow never fails the step it watches.
"""

from __future__ import annotations

import logging

from ..core.events import Event
from ..core.snapshot import Snapshot
from ..storage.records import InstanceRecord
from .registry import Registry
from .requests import DeliverEvent
from .step_memo import Outcome

__all__ = ["observe_shadow"]

_log = logging.getLogger("statekeeper.shadow")


def observe_shadow(registry: Registry, record: InstanceRecord, snapshot: Snapshot,
                   event: Event, now: float, result: Outcome, request: DeliverEvent) -> None:
    """Step ``event`` on the shadowed version of ``record``'s chart, if one is shadowed."""
    shadow = registry.shadows.get((record.chart, record.version))
    if shadow is None:
        return
    try:
        shadow.observe(record.id, snapshot, event, now, result[0], result[1], result[3],
                       rev=record.rev + 1, timer=request.timer_id,
                       outcome=(request.effect_finish or request.effect_release) is not None)
    except Exception:  # noqa: BLE001 - a shadow never fails the step it watches
        _log.exception("shadow of %r failed", record.id)
