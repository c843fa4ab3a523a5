"""Migrations of in-flight instances from one chart version to the next, as data.

Why data and not code: a statechart's future depends only on its configuration, its data,
its history and its pending timers, so an upgrade is a map of states plus a function over the
data.  A :class:`Migration` says exactly that, and is checked against both charts when it is
registered (an unmapped state, a state map naming a state that does not exist), long before
any instance is touched.  Mapping one snapshot is :func:`migrate_snapshot`
(:mod:`statekeeper.core._migrate_map`), pure like the step: the runtime plans and commits it.

The rule for states a map leaves out: a reachable old state whose id exists unchanged in the
new chart stays itself; any other reachable old state must be mapped (to a new state id, or to
``None``: it has no counterpart and its parent's default entry decides), else the migration is
refused with :class:`UnmappedState` naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import ChartError, StatekeeperError
from .nodes import HISTORY, ROOT_ID
from .validate import _reachable, did_you_mean

__all__ = [
    "DataMapFailed",
    "Migration",
    "MigrationError",
    "NoMigrationPath",
    "TimerPolicy",
    "UnknownMappedState",
    "UnmappedState",
    "VersionConflict",
    "VersionCycle",
    "check_migration",
    "find_path",
]

#: what happens to an instance's pending ``after`` timers: ``keep`` their due time (renamed
#: to the mapped state's timer), ``rearm`` them from the migration's time under the new
#: state's ``after``, or ``cancel`` every pending timer
TimerPolicy = Literal["keep", "rearm", "cancel"]
TIMER_POLICIES = ("keep", "rearm", "cancel")


class MigrationError(StatekeeperError, ValueError):
    """A migration cannot be registered or applied; nothing was written."""


class VersionConflict(ChartError, MigrationError):
    """A chart version is registered again with another structure.

    Its instances' snapshots name the first structure: they would stop loading.  Give the
    changed chart a new version and register a :class:`Migration` to it.
    """

    def __init__(self, chart: str, version: str, known: str, given: str) -> None:
        self.chart, self.version = chart, version
        ChartError.__init__(self, f"chart {chart!r} v{version} is already registered with another "
                         f"structure ({known[:12]}, not {given[:12]}): give the changed chart "
                         f"a new version")


class UnmappedState(MigrationError):
    """A reachable state of the old version has no counterpart in the new one."""

    def __init__(self, migration: str, state: str) -> None:
        self.state = state
        super().__init__(f"{migration}: state {state!r} can hold instances but is neither "
                         f"mapped nor in the new version: map it (to a new state, or to None)")


class UnknownMappedState(MigrationError):
    """A state map names a state the old (``side="old"``) or new chart does not have."""

    def __init__(self, migration: str, state: str, side: str, known: Any) -> None:
        self.state, self.side = state, side
        super().__init__(f"{migration}: the state map names {state!r}, which the {side} "
                         f"version does not have{did_you_mean(state, known)}")


class DataMapFailed(MigrationError):
    """A migration's data map raised, or returned data the new version cannot hold."""

    def __init__(self, instance: str, reason: str) -> None:
        self.instance, self.reason = instance, reason
        super().__init__(f"instance {instance!r}: the data map failed: {reason}")


class VersionCycle(MigrationError):
    """Registered migrations would lead from a version back to itself."""


class NoMigrationPath(MigrationError):
    """No chain of registered migrations leads from one version to another."""


@dataclass(frozen=True, slots=True)
class Migration:
    """How instances of ``chart`` at ``from_version`` become instances of ``to_version``.

    Attributes:
        chart, from_version, to_version: the chart's name and the two versions.
        states: old state id to new state id (or ``None``: no counterpart, the new parent's
            default entry decides).  A state left out keeps its id, which must exist in the
            new version (else the migration is refused, naming it).  Parallel regions: a
            region of the new version no mapped state lands in is entered by its default.
        data: a pure function from the old data (a copy) to the new data; ``None`` keeps it.
        timers: see :data:`TimerPolicy`.  Under ``keep`` and ``rearm``, a state of the new
            configuration with an ``after`` and no timer pending gets one from the
            migration's time.
        history: ``map`` carries recorded history through the state map (a record whose
            history state or states are gone is dropped); ``drop`` forgets it all.
        outcomes: effects in flight are kept: their outcome is delivered to the new version
            under its own name (``done.effect.charge``), or under the name this maps it to
            (``{"done.effect.charge": "paid"}``); only for effects the new version does not
            declare, so its own instances' outcomes never change name.

    """

    chart: str
    from_version: int | str
    to_version: int | str
    states: Mapping[str, str | None] = field(default_factory=dict)
    data: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    timers: TimerPolicy = "keep"
    history: Literal["map", "drop"] = "map"
    outcomes: Mapping[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``order v1 -> v2``: how messages name this migration."""
        return f"migration {self.chart!r} v{self.from_version} -> v{self.to_version}"

    def target(self, state: str) -> str | None:
        """The new id of old state ``state`` (itself when the map leaves it out)."""
        return self.states.get(state, state)


def check_migration(migration: Migration, old: Any, new: Any) -> None:
    """Refuse ``migration`` from compiled chart ``old`` to ``new`` unless it is complete.

    Raises:
        MigrationError: a wrong chart or version, or a bad timer or history policy.
        UnknownMappedState: a map key the old chart or a value the new chart does not have.
        UnmappedState: a reachable old state with no counterpart (see the module docstring).

    """
    label = migration.label
    if not isinstance(migration, Migration):
        raise TypeError(f"register_migration takes a Migration, not {migration!r}")
    if (old.name, str(old.version)) != (migration.chart, str(migration.from_version)) or (
            new.name, str(new.version)) != (migration.chart, str(migration.to_version)):
        raise MigrationError(f"{label}: given charts {old.name!r} v{old.version} and "
                             f"{new.name!r} v{new.version}")
    if str(migration.from_version) == str(migration.to_version):
        raise VersionCycle(f"{label}: a migration from a version to itself")
    if migration.timers not in TIMER_POLICIES:
        raise MigrationError(f"{label}: timers={migration.timers!r}, not one of "
                             f"{list(TIMER_POLICIES)}")
    if migration.history not in ("map", "drop"):
        raise MigrationError(f"{label}: history={migration.history!r}, not 'map' or 'drop'")
    if migration.data is not None and not callable(migration.data):
        raise MigrationError(f"{label}: data= takes a function of the old data, not "
                             f"{migration.data!r}")
    for source, target in migration.states.items():
        if source not in old.nodes or source == ROOT_ID:
            raise UnknownMappedState(label, str(source), "old", old.nodes)
        if target is not None and (target not in new.nodes or target == ROOT_ID):
            raise UnknownMappedState(label, str(target), "new", new.nodes)
        if target is not None and (old.nodes[source].kind == HISTORY) != (
                new.nodes[target].kind == HISTORY):
            raise MigrationError(f"{label}: {source!r} is mapped to {target!r}: a history "
                                 f"state maps to a history state, any other to a state")
    for node in sorted(_reachable(old.root), key=lambda n: n.order):
        if node.kind == HISTORY or node.id in migration.states or node.id in new.nodes:
            continue
        raise UnmappedState(label, node.id)
    for name, event in migration.outcomes.items():
        effect = name.split(".", 2)[-1] if name.count(".") >= 2 else None
        if effect is None or not name.startswith(("done.effect.", "error.effect.",
                                                  "blocked.effect.")) or not isinstance(event, str):
            raise MigrationError(f"{label}: outcomes maps effect outcome events "
                                 f"('done.effect.<name>') to event names, not {name!r}")
        if effect in new.effects:
            raise MigrationError(f"{label}: the new version declares effect {effect!r} itself; "
                                 f"its instances' outcomes of it must keep their name")


def find_path(migrations: Iterable[Migration], chart: str, source: str,
              target: str) -> list[Migration] | None:
    """The shortest chain of ``migrations`` of ``chart`` from ``source`` to ``target``.

    ``[]`` when the versions are the same; ``None`` when no chain leads there.  Breadth
    first, and among equally short chains the one through the lowest versions (sorted), so
    the same migrations always give the same chain.
    """
    edges: dict[str, dict[str, Migration]] = {}
    for migration in migrations:
        if migration.chart == chart:
            edges.setdefault(str(migration.from_version), {})[str(migration.to_version)] = \
                migration
    paths: dict[str, list[Migration]] = {str(source): []}
    todo = [str(source)]
    while todo:
        version = todo.pop(0)
        if version == str(target):
            return paths[version]
        for to, migration in sorted(edges.get(version, {}).items()):
            if to not in paths:
                paths[to] = [*paths[version], migration]
                todo.append(to)
    return None
