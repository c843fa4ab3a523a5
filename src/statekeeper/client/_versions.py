"""The versioning part of the clients: migrations, their reports, rollouts and shadows.

Split from ``_base`` for size; :class:`~statekeeper.client.Client` and
:class:`~statekeeper.client.AsyncClient` have these through ``_BaseClient``.  See
``docs/versioning.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.compatibility import CompatibilityReport
from ..core.compile import CompiledChart
from ..core.limits import Limits
from ..core.migration import Migration
from ..core.model import Chart
from ..runtime.migrate import MigrationRun, compatibility, migrate_chart
from ..runtime.shadow import Shadow
from ..runtime.shadow_log import ShadowRecorder, stored_report
from .errors import ArgumentTypeError, InvalidArgument

if TYPE_CHECKING:
    from ..clock import Clock
    from ..runtime.engine import Engine
    from ..runtime.registry import Registry
    from ..storage.base import Store

__all__ = ["VersionsMixin"]


class VersionsMixin:
    """Methods over the client's store, registry and clock (set by ``_BaseClient``)."""

    store: Store
    registry: Registry
    clock: Clock
    limits: Limits
    log_level: int
    engine: Engine
    _shadow_recorder: ShadowRecorder | None

    def register_migration(self, migration: Migration) -> CompatibilityReport:
        """Register how instances move between two registered versions of a chart.

        Both versions must be registered first.  Returns the compatibility report: every
        change between the versions with its verdict and the live instances it concerns.

        Raises:
            UnknownChart: either version is not registered.
            MigrationError: the migration is incomplete or wrong (a reachable state left
                unmapped, a state that does not exist, a cycle of versions...), named.

        """
        self.registry.register_migration(migration)
        return compatibility(self.store, self.registry, migration)

    def rollout(self, chart: str, version: int | str, percent: float, *,
                stable: int | str | None = None) -> None:
        """Start ``percent`` of new instances of ``chart`` on ``version``, the rest on ``stable``.

        Sticky: the side depends only on the chart's name and the instance id, so every
        process that registers the same rollout starts a given id on the same version, and
        raising ``percent`` only moves ids to the new side.  A ``start`` naming a version
        wins.  The split shows in every answer and query (``InstanceState.version``).
        ``stable`` defaults to the newest other registered version.
        """
        _check_text("rollout", "chart", chart, longest=self.limits.max_name_length)
        self.registry.rollout(chart, version, percent, stable)

    def shadow(self, chart: str, from_version: int | str, to_version: int | str) -> Shadow:
        """Step every event delivered to ``chart`` v``from_version`` on ``to_version`` too.

        Callers' events, timers and effects' outcomes (these as the migrations carry them
        over).  The old version's result is committed as ever; the new version's, on the
        instance as the registered migrations would move it, is only compared: divergences
        (target configuration, data, effects and sends, acceptance) are counted per state
        and event and logged with the instance id (logger ``statekeeper.shadow``).  ``print(
        shadow.report())`` prints this process's table; each comparison of a committed step
        is also stored, for :meth:`shadow_report` over every process.  Per process:
        register it in each.

        Raises:
            UnknownChart: either version is not registered.
            NoMigrationPath: no registered migrations lead from one to the other.

        """
        _check_text("shadow", "chart", chart, longest=self.limits.max_name_length)
        made = self.registry.shadow(chart, from_version, to_version)
        recorder = getattr(self, "_shadow_recorder", None)
        if recorder is None:  # the store keeps what landed, for every process's report
            recorder = self._shadow_recorder = ShadowRecorder(self.store, self.registry,
                                                              self.engine.after_answers)
            self.engine.on_commit.append(recorder.committed)
        made.on_pending = recorder.schedule
        return made

    def _shadow_report(self, chart: Any, latest: Any) -> str:
        _check_text("shadow_report", "chart", chart, longest=self.limits.max_name_length)
        _check_count("shadow_report", "latest", latest, least=0)
        self.engine.flush()  # this process's comparisons are stored after their group
        return stored_report(self.store, chart, latest=latest)

    def _clear_shadow_log(self, chart: Any) -> int:
        _check_text("clear_shadow_log", "chart", chart, longest=self.limits.max_name_length)
        return self.store.delete_shadow_records(chart)

    def _migrate(self, chart: Any, to_version: Any, dry_run: Any, batch: Any, actor: Any,
                 progress: Any, lazy: Any = False) -> MigrationRun:
        longest = self.limits.max_name_length
        name = chart.name if isinstance(chart, (Chart, CompiledChart)) else chart
        _check_text("migrate", "chart", name, longest=longest)
        if type(to_version) not in (int, str):
            raise ArgumentTypeError(f"migrate() to_version= takes a chart version (an int or "
                                    f"a string), not {_show(to_version)}")
        if dry_run is not True and dry_run is not False:
            raise ArgumentTypeError(f"migrate() dry_run= takes True or False, not "
                                    f"{_show(dry_run)}")
        _check_count("migrate", "batch", batch, least=1)
        _check_text("migrate", "actor", actor, optional=True, empty=True, longest=longest)
        if lazy is not True and lazy is not False:
            raise ArgumentTypeError(f"migrate() lazy= takes True or False, not {_show(lazy)}")
        if lazy:
            if dry_run:
                raise InvalidArgument("migrate(lazy=True) turns lazy migration on, which "
                                      "writes: pass dry_run=False with it (a dry run, without "
                                      "lazy=, reports what it would do)")
            self.registry.migrate_lazily(name, to_version)
            return MigrationRun(name, str(to_version), dry_run=False, lazy=True)
        return migrate_chart(self.store, self.registry, name, to_version, now=self.clock.now,
                             dry_run=dry_run, batch=batch, actor=actor, progress=progress,
                             log_level=self.log_level, metrics=self.engine.metrics)



def _check_text(*args: Any, **kwargs: Any) -> None:
    from ._checks import check_text

    check_text(*args, **kwargs)


def _check_count(*args: Any, **kwargs: Any) -> None:
    from ._checks import check_count

    check_count(*args, **kwargs)


def _show(value: Any) -> str:
    from ._checks import shown as _shown

    return _shown(value)
