"""A snapshot of another version of a chart, routed through the migrations that lead here.

Why: a snapshot kept in a file or sent by another program names the chart version it was
taken from, and ``Snapshot.check`` refuses it in any other version, as it must.  When the
caller holds the migrations (and the charts of the versions on the way), the snapshot can be
brought to this version instead, by exactly the mapping a durable instance would go through;
where no chain of migrations leads here, it is still refused, and the error says why.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._migrate_map import migrate_snapshot
from .compile import CompiledChart
from .migration import Migration, NoMigrationPath, check_migration, find_path
from .snapshot import Snapshot

__all__ = ["upgrade_snapshot"]


def upgrade_snapshot(snapshot: Snapshot, chart: CompiledChart, *,
                     migrations: Iterable[Migration], versions: Iterable[CompiledChart],
                     now: float) -> Snapshot:
    """``snapshot`` as a snapshot of ``chart``, through ``migrations`` when it names another version.

    ``versions`` are the compiled charts of the snapshot's own version and of every version
    on the way (``chart`` counts as one); the snapshot's must have its structure hash.  A
    snapshot of ``chart`` itself is returned as it is (after ``check``).

    Raises:
        NoMigrationPath: the snapshot is of another chart, of a version none of
            ``versions`` has with its structure, or no chain of ``migrations`` leads from
            its version to ``chart``'s (the message says which).
        MigrationError: a migration on the way refuses it (see
            :func:`~statekeeper.core._migrate_map.migrate_snapshot`).

    """
    if (snapshot.chart, str(snapshot.version), snapshot.hash) == (
            chart.name, str(chart.version), chart.hash):
        snapshot.check(chart)
        return snapshot
    if snapshot.chart != chart.name:
        raise NoMigrationPath(f"the snapshot is of chart {snapshot.chart!r}, not "
                              f"{chart.name!r}: no migration turns one chart into another")
    known = {str(c.version): c for c in versions if c.name == chart.name}
    known[str(chart.version)] = chart
    source = known.get(str(snapshot.version))
    if source is None or source.hash != snapshot.hash:
        what = "not given" if source is None else f"given with another structure " \
                                                   f"({source.hash[:12]})"
        raise NoMigrationPath(f"the snapshot is of {chart.name!r} v{snapshot.version} (hash "
                              f"{snapshot.hash[:12]}), whose chart is {what}: pass it in "
                              f"versions= to migrate from it")
    path = find_path(migrations, chart.name, str(snapshot.version), str(chart.version))
    if path is None:
        raise NoMigrationPath(f"no migration given leads from {chart.name!r} "
                              f"v{snapshot.version} to v{chart.version}")
    for migration in path:
        old, new = known.get(str(migration.from_version)), known.get(str(migration.to_version))
        if old is None or new is None:
            missing = migration.from_version if old is None else migration.to_version
            raise NoMigrationPath(f"the chain to v{chart.version} goes through v{missing}, "
                                  f"whose chart is not given in versions=")
        check_migration(migration, old, new)  # given here, never registered: checked here
        snapshot = migrate_snapshot(migration, old, new, snapshot, now=now).snapshot
    snapshot.validate(chart)
    return snapshot
