"""Move live instances of a chart to another version: the dry run and the batch.

Why a batch of its own rather than requests through the engine: a migration is no step (no
event, no action runs), and an operator wants a bounded number of instances per transaction,
a report per instance and progress.  Each instance's migration is one commit, guarded by the
instance's ``rev`` like any step, and writes one transition row (event
``statekeeper.migrate``, outcome ``migrated``), so it is atomic and logged; an engine that had
the instance cached loses its next commit's ``rev`` check and plans again on the migrated row.

Resumable: which instances are left is read from the store (those not yet on the target
version), never from a progress file, so a batch killed at any point and started again
migrates each remaining instance once, and none twice (an instance migrated meanwhile is on
the target version, and a stale plan of it loses its ``rev`` check).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..core._migrate_map import migrate_snapshot
from ..core.compatibility import CompatibilityReport, compare_charts
from ..core.migration import Migration, MigrationError
from ..core.snapshot import Snapshot
from ..storage.base import Store
from ..storage.records import Commit, CorruptedRow, InstanceRecord, TimerRecord, TransitionRecord
from .logs import log_migrations
from .registry import Registry
from .rows import snapshot_from_row, snapshot_to_row

if TYPE_CHECKING:
    from .metrics import Metrics

__all__ = ["MIGRATE_EVENT", "InstanceMigration", "MigrationRun", "compatibility",
           "migrate_chart", "migration_commit", "plan_migration"]

_log = logging.getLogger("statekeeper.runtime")

#: the event name of a migration's transition row
MIGRATE_EVENT = "statekeeper.migrate"
Status = Literal["migrated", "would migrate", "failed"]


@dataclass(frozen=True, slots=True)
class InstanceMigration:
    """What a migration does (or, in a dry run, would do) to one instance.

    ``data_diff`` holds the top-level keys ``added``, ``removed`` (old values) and
    ``changed`` (``[old, new]``).  ``error`` says why a ``failed`` instance stays where it is.
    """

    instance: str
    from_version: str
    to_version: str
    source: tuple[str, ...]
    target: tuple[str, ...] = ()
    data_diff: dict[str, dict[str, Any]] = field(default_factory=dict)
    timers_set: tuple[str, ...] = ()
    timers_cancelled: tuple[str, ...] = ()
    status: Status = "would migrate"
    error: str | None = None


@dataclass(slots=True)
class MigrationRun:
    """The outcome of :func:`migrate_chart`: one entry per instance not yet on the version.

    ``lazy``: nothing was migrated now; each live instance migrates in the commit before its
    next event (``instances`` is empty).
    """

    chart: str
    to_version: str
    dry_run: bool
    instances: list[InstanceMigration] = field(default_factory=list)
    corrupted: list[CorruptedRow] = field(default_factory=list)
    transactions: int = 0
    lazy: bool = False

    @property
    def migrated(self) -> list[InstanceMigration]:
        return [m for m in self.instances if m.status == "migrated"]

    @property
    def failed(self) -> list[InstanceMigration]:
        """The instances that cannot be mapped: left on their version, with the reason."""
        return [m for m in self.instances if m.status == "failed"]


def _diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        "added": {k: v for k, v in new.items() if k not in old},
        "removed": {k: v for k, v in old.items() if k not in new},
        "changed": {k: [old[k], v] for k, v in new.items() if k in old and old[k] != v},
    }


def plan_migration(registry: Registry, record: InstanceRecord, to_version: str, now: float,
                   actor: str | None = None) -> tuple[InstanceMigration, Commit]:
    """The commit that moves ``record`` to ``to_version`` along the registered chain.

    Raises:
        MigrationError: no chain leads there, the mapped state is not legal, or the data
            map failed (:class:`~statekeeper.core.migration.DataMapFailed`).
        UnknownChart, SnapshotMismatch: the instance's own version is not registered as
            it was started.

    """
    start = registry.get(record.chart, record.version, record.hash)
    path = registry.migration_path(record.chart, record.version, to_version)
    before = snapshot_from_row(record)
    before.check(start.chart)
    report, commit, _ = migration_commit(registry, record, before, path, to_version, now, actor)
    return report, commit


def migration_commit(registry: Registry, record: InstanceRecord, before: Snapshot,
                     path: list[Migration], to_version: str, now: float,
                     actor: str | None) -> tuple[InstanceMigration, Commit, Snapshot]:
    """The commit moving ``record`` (holding ``before``, checked) along ``path``.

    What :func:`plan_migration` and a lazy migration (:mod:`.lazy`) share; also returns the
    snapshot after the migration.  Raises as :func:`plan_migration` does.
    """
    snapshot = before
    for migration in path:
        old = registry.for_start(record.chart, migration.from_version).chart
        new = registry.for_start(record.chart, migration.to_version).chart
        snapshot = migrate_snapshot(migration, old, new, snapshot, now=now).snapshot
    final = registry.for_start(record.chart, to_version).chart
    snapshot.validate(final)  # the promise: a legal state of the new chart, or nothing
    return (*_describe(record, before, snapshot, path, now, actor), snapshot)


def _describe(record: InstanceRecord, before: Snapshot, after: Snapshot,
              path: list[Migration], now: float, actor: str | None
              ) -> tuple[InstanceMigration, Commit]:
    rev = record.rev + 1
    versions = [str(record.version), *(str(m.to_version) for m in path)]
    new = InstanceRecord(
        id=record.id, chart=record.chart, version=str(after.version), hash=after.hash,
        snapshot=snapshot_to_row(after), configuration=after.configuration,
        status="done" if after.done else "active", rev=rev, labels=dict(record.labels),
        created_at=record.created_at, updated_at=now,
        entered_at=record.entered_on(after.configuration, now))
    via = f" via v{', v'.join(versions[1:-1])}" if len(versions) > 2 else ""
    row = TransitionRecord(
        instance=record.id, seq=rev, event=MIGRATE_EVENT, source=before.configuration,
        target=after.configuration, chart_version=new.version, outcome="migrated", at=now,
        data={"from_version": versions[0], "to_version": versions[-1], "path": versions},
        actor=actor, reason=f"migrated v{versions[0]} -> v{versions[-1]}{via}")
    set_ = {k: v for k, v in after.timers.items() if before.timers.get(k) != v}
    cancelled = [k for k in before.timers if k not in after.timers]
    timers = [TimerRecord(record.id, tid, t["due"], t["event"], t.get("target"),
                          policy=t.get("late", "default")) for tid, t in set_.items()]
    commit = Commit(new, record.rev, [row], timers_set=timers,
                    timers_cancelled=[k for k in cancelled if k not in set_])
    report = InstanceMigration(
        record.id, versions[0], versions[-1], before.configuration, after.configuration,
        _diff(before.data, after.data), tuple(set_), tuple(cancelled))
    return report, commit


def _pending(store: Store, chart: str, to_version: str, batch: int,
             corrupted: list[CorruptedRow]) -> Any:
    """Pages of the live instances of ``chart`` not on ``to_version``, by id."""
    after: str | None = None
    while True:
        page = store.query(chart=chart, status="active", limit=batch, after=after,
                           corrupted=corrupted)
        if not page:
            return
        after = page[-1].id
        todo = [r for r in page if r.version != to_version]
        if todo:
            yield todo


def migrate_chart(store: Store, registry: Registry, chart: str, to_version: int | str, *,
                  now: Callable[[], float], dry_run: bool = True, batch: int = 500,
                  actor: str | None = None,
                  progress: Callable[[int, int], None] | None = None,
                  log_level: int = logging.DEBUG,
                  metrics: Metrics | None = None) -> MigrationRun:
    """Move every live instance of ``chart`` to ``to_version`` (or only say how, ``dry_run``).

    ``batch`` bounds the instances written per transaction; ``progress(done, total)`` is
    called after each one.  An instance that cannot be mapped (its data map raises, say) is
    left on its version and reported, and the batch goes on.

    Raises:
        UnknownChart: ``to_version`` is not registered.
        NoMigrationPath: live instances are on a registered version no chain of registered
            migrations leads from (checked before anything is written; an instance of a
            version that is not registered at all is reported as failed instead).
        ValueError: ``batch`` is not a positive int.

    """
    if type(batch) is not int or batch < 1:
        raise ValueError(f"batch= takes a number of instances of 1 or more, not {batch!r}")
    target = str(to_version)
    registry.for_start(chart, target)
    run = MigrationRun(chart, target, dry_run)
    total, versions = 0, set[str]()
    for page in _pending(store, chart, target, batch, []):
        total += len(page)
        versions.update(r.version for r in page)
    for version in sorted(versions):  # refused before anything is written
        if registry.find(chart, version) is not None:
            registry.migration_path(chart, version, target)
    done = 0
    for page in _pending(store, chart, target, batch, run.corrupted):
        at = now()
        planned: list[tuple[InstanceMigration, Commit]] = []
        for record in page:
            try:
                planned.append(plan_migration(registry, record, target, at, actor))
            except Exception as exc:  # noqa: BLE001 - this instance stays; the others go on
                run.instances.append(_failed(record, target, exc))
        if not dry_run and planned:
            _apply(store, registry, run, planned, target, actor, now, log_level, metrics)
        elif planned:
            run.instances.extend(report for report, _ in planned)
        done += len(page)
        if progress is not None:
            progress(done, max(total, done))
    return run


def _failed(record: InstanceRecord, target: str, exc: BaseException) -> InstanceMigration:
    reason = str(exc) if isinstance(exc, MigrationError) else f"{type(exc).__name__}: {exc}"
    _log.warning("instance %r stays on v%s: %s", record.id, record.version, reason)
    return InstanceMigration(record.id, record.version, target, record.configuration,
                             status="failed", error=reason)


def _apply(store: Store, registry: Registry, run: MigrationRun,
           planned: list[tuple[InstanceMigration, Commit]], target: str,
           actor: str | None, now: Callable[[], float], log_level: int,
           metrics: Metrics | None) -> None:
    """Write one page in one transaction; plan an instance that changed meanwhile again."""
    for _attempt in range(8):
        lost = {id(c) for c in store.apply([c for _, c in planned])}
        run.transactions += 1
        log_migrations(log_level, [(c, None) for _, c in planned if id(c) not in lost])
        if metrics is not None:
            metrics.migrated(c for _, c in planned if id(c) not in lost)
        for report, commit in planned:
            if id(commit) not in lost:
                run.instances.append(_done(report))
        again = [commit.instance.id for _, commit in planned if id(commit) in lost]
        if not again:
            return
        fresh = store.load_many(again)
        planned = []
        at = now()
        for record in fresh.values():
            if record.version == target or record.status != "active":
                continue  # another migration (or its own last step) got there first
            try:
                planned.append(plan_migration(registry, record, target, at, actor))
            except Exception as exc:  # noqa: BLE001 - this instance stays; the others go on
                run.instances.append(_failed(record, target, exc))
        if not planned:
            return
    for report, _ in planned:
        run.instances.append(InstanceMigration(
            report.instance, report.from_version, target, report.source, status="failed",
            error="it kept changing under the migration: run it again"))


def _done(report: InstanceMigration) -> InstanceMigration:
    return InstanceMigration(report.instance, report.from_version, report.to_version,
                             report.source, report.target, report.data_diff, report.timers_set,
                             report.timers_cancelled, "migrated")


def compatibility(store: Store, registry: Registry, migration: Migration) -> CompatibilityReport:
    """The changes ``migration``'s versions make, with the live instances each concerns."""
    old = registry.for_start(migration.chart, migration.from_version).chart
    new = registry.for_start(migration.chart, migration.to_version).chart
    counts: dict[str, int] = {}
    source = str(migration.from_version)
    for page in _pending(store, migration.chart, "", 1000, []):
        for record in page:
            if record.version == source:
                for state in record.configuration:
                    counts[state] = counts.get(state, 0) + 1
    return compare_charts(old, new, migration, counts)
