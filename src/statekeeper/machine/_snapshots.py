"""Snapshots as machines take and give them: routed through migrations, copied out."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from ..clock import Clock
from ..core.compile import CompiledChart, compile_chart
from ..core.migration import Migration
from ..core.snapshot import Snapshot
from ..core.upgrade import upgrade_snapshot
from ._env import _system_clock

__all__ = ["copied", "routed"]


def routed(chart: Any, snapshot: Snapshot, migrations: Iterable[Migration] | None,
           versions: Iterable[CompiledChart], clock: Clock | None) -> Snapshot:
    """``snapshot`` brought to ``chart``'s version through ``migrations`` (when given).

    Without migrations a snapshot of another version is refused later, as ever
    (``Snapshot.validate``); with them it is routed, or refused with the reason
    (:func:`~statekeeper.core.upgrade.upgrade_snapshot`).
    """
    if migrations is None:
        return snapshot
    compiled = chart if isinstance(chart, CompiledChart) else compile_chart(chart)
    now = (clock or _system_clock()).now()
    return upgrade_snapshot(snapshot, compiled, migrations=migrations, versions=versions,
                            now=now)


def copied(snapshot: Snapshot) -> Snapshot:
    """``snapshot`` with its own copies of everything mutable in it."""
    return replace(snapshot, data=copy.deepcopy(snapshot.data),
                   history=dict(snapshot.history), timers=copy.deepcopy(snapshot.timers),
                   invokes=copy.deepcopy(snapshot.invokes),
                   done_data=copy.deepcopy(snapshot.done_data))
