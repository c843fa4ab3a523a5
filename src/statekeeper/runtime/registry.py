"""Charts the runtime can run, by name and version, with their behaviour bound.

A snapshot names its chart's name, version and structure hash; the registry finds exactly that
chart or refuses, so an instance is never continued by a chart it was not started with.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.compile import CompiledChart, compile_chart
from ..core.errors import ChartError, SnapshotMismatch, StatekeeperError, UnboundName
from ..core.migration import (
    Migration,
    MigrationError,
    NoMigrationPath,
    VersionConflict,
    VersionCycle,
    check_migration,
    find_path,
)
from ..core.model import Chart
from .authz import Policy, check_version
from .shadow import Shadow

__all__ = ["MigrationError", "Registered", "Registry", "UnknownChart", "rollout_bucket"]


class UnknownChart(StatekeeperError, KeyError):
    """No chart with that name (or version) is registered."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown chart"


@dataclass(frozen=True, slots=True)
class Registered:
    """A compiled chart with the effects that run its commands."""

    chart: CompiledChart
    effects: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    at_most_once: frozenset[str] = frozenset()
    #: effect outcome events delivered under another name to this version (migrated
    #: instances' effects in flight that this version does not declare)
    outcome_events: Mapping[str, str] = field(default_factory=dict)


class Registry:
    """Registered charts; the newest version of a name is the one new instances start with."""

    def __init__(self) -> None:
        self._charts: dict[tuple[str, str], Registered] = {}
        self._latest: dict[str, Registered] = {}
        #: per (chart, from version), the registered migrations out of it, by to version
        self._migrations: dict[tuple[str, str], dict[str, Migration]] = {}
        #: per chart, a rollout: (new version, percent of new instances, stable version)
        self._rollouts: dict[str, tuple[str, float, str]] = {}
        #: per (chart, version), the shadow its live events are also stepped in
        self.shadows: dict[tuple[str, str], Shadow] = {}
        #: per chart, the version its instances migrate to before their next event (lazy)
        self.lazy: dict[str, str] = {}
        #: per chart, its authorization policy (:mod:`~statekeeper.runtime.authz`): none, none
        #: is checked
        self.policies: dict[str, Policy] = {}

    def register(
        self,
        chart: Chart | CompiledChart,
        *,
        guards: Mapping[str, Callable[..., Any]] | None = None,
        functions: Mapping[str, Callable[..., Any]] | None = None,
        effects: Mapping[str, Callable[..., Any]] | None = None,
        at_most_once: frozenset[str] | set[str] = frozenset(),
    ) -> CompiledChart:
        """Compile (if needed) and register ``chart`` with its effects.

        Raises:
            UnboundName: the chart declares an effect that ``effects`` does not provide.
            TypeError: an effect is not callable, or ``at_most_once`` is not a set of names.
            ValueError: ``at_most_once`` names an effect neither the chart nor ``effects`` has.
            ChartError: a state invokes a child (not run durably yet), or this name and
                version are registered with another structure.
            InvalidPolicy: the chart has an authorization policy, and this version lacks an
                event or state it names (:func:`~.authz.check_version`).

        """
        compiled = chart if isinstance(chart, CompiledChart) else compile_chart(
            chart, guards=guards, functions=functions)
        for node in compiled.states:
            if node.invokes:  # refused now, not when an instance first enters the state
                raise ChartError("the durable runtime does not run <invoke> yet: run this chart "
                                 "in a Machine, or model the child as an instance of its own",
                                 node.id)
        bound = dict(effects or {})
        missing = compiled.effects - set(bound)
        if missing:
            raise UnboundName(f"chart {compiled.name!r}: effects not provided: {sorted(missing)}")
        for name, fn in bound.items():
            if not callable(fn):
                raise TypeError(f"effect {name!r} of chart {compiled.name!r} must be callable, "
                                f"not {fn!r}")
        once = _names_at_most_once(at_most_once, compiled.effects | set(bound), compiled.name)
        known = self.find(compiled.name, str(compiled.version))
        if known is not None and known.chart.hash != compiled.hash:
            # Its instances would stop loading (their snapshots name the other structure).
            raise VersionConflict(compiled.name, str(compiled.version), known.chart.hash,
                                  compiled.hash)
        if known is None and compiled.name in self.policies:  # a new version after its policy
            check_version(self.policies[compiled.name], compiled)
        entry = Registered(compiled, bound, once,
                           known.outcome_events if known is not None else {})
        self._put(entry)
        return compiled

    def _put(self, entry: Registered) -> None:
        compiled = entry.chart
        self._charts[(compiled.name, str(compiled.version))] = entry
        latest = self._latest.get(compiled.name)
        if latest is None or latest.chart.version == compiled.version or _newer(
                compiled.version, latest.chart.version):
            self._latest[compiled.name] = entry

    def for_start(self, name: str, version: int | str | None) -> Registered:
        """The version a new instance starts on: the one named, or the newest."""
        if version is None:
            return self.latest(name)
        entry = self.find(name, str(version))
        if entry is None:
            self.latest(name)  # no such chart at all: say so
            raise UnknownChart(f"chart {name!r} version {version} is not registered "
                               f"(registered: {', '.join(self.versions(name))})")
        return entry

    def rollout(self, name: str, version: int | str, percent: float,
                stable: int | str | None = None) -> None:
        """Start ``percent`` of new instances of ``name`` on ``version``, the rest on ``stable``.

        ``stable`` defaults to the newest registered version other than ``version``.  Which
        side an instance lands on depends only on the chart's name and the instance's id
        (:func:`rollout_bucket`), so the same id always lands on the same side, and raising
        the percentage only moves ids from the stable side to the new one.  ``percent=0``
        with ``stable=None`` ends the rollout.

        Raises:
            UnknownChart: either version is not registered.
            ValueError: ``percent`` is not a number from 0 to 100.

        """
        if isinstance(percent, bool) or not isinstance(percent, int | float) or not (
                0 <= percent <= 100):
            raise ValueError(f"rollout percent= takes a number from 0 to 100, not {percent!r}")
        new = str(self.for_start(name, version).chart.version)
        if stable is None:
            others = [v for v in self.versions(name) if v != new]
            if not others:
                if percent == 0:
                    self._rollouts.pop(name, None)
                    return
                raise UnknownChart(f"chart {name!r}: a rollout of v{new} needs another "
                                   f"registered version for the rest")
            stable = others[-1]
        old = str(self.for_start(name, stable).chart.version)
        self._rollouts[name] = (new, float(percent), old)

    def shadow(self, name: str, source: int | str, target: int | str) -> Shadow:
        """Step every live event of ``name`` v``source`` on v``target`` too (see shadow.py).

        Raises:
            UnknownChart: either version is not registered.
            NoMigrationPath: no chain of registered migrations leads from one to the other.

        """
        path = self.migration_path(name, str(source), str(target))
        chain = [(m, self.for_start(name, m.from_version).chart,
                  self.for_start(name, m.to_version).chart) for m in path]
        made = Shadow(name, str(source), str(target), self.for_start(name, target).chart,
                      chain)
        self.shadows[(name, str(self.for_start(name, source).chart.version))] = made
        return made

    def migrate_lazily(self, name: str, target: int | str) -> None:
        """Migrate each live instance of ``name`` to ``target`` before its next event.

        Instances on a version from which no chain of registered migrations leads to
        ``target`` are left on it (they are stepped as they are).

        Raises:
            UnknownChart: ``target`` is not registered.
            NoMigrationPath: other versions of ``name`` are registered and no chain of
                registered migrations leads from any of them to ``target``.

        """
        version = str(self.for_start(name, target).chart.version)
        others = [v for v in self.versions(name) if v != version]
        if others and all(self._path(name, v, version) is None for v in others):
            raise NoMigrationPath(f"chart {name!r}: no registered migration leads to "
                                  f"v{version} from v{', v'.join(others)}: register them first")
        self.lazy[name] = version

    def lazy_path(self, name: str, source: str) -> tuple[str, list[Migration]] | None:
        """The lazy target of ``name`` and the chain to it from ``source``, if one leads there."""
        target = self.lazy.get(name)
        if target is None or target == source:
            return None
        path = self._path(name, source, target)
        return None if path is None else (target, path)

    def start_version(self, name: str, instance_id: str) -> str | None:
        """The version a new instance ``instance_id`` starts on under a rollout (or ``None``)."""
        rollout = self._rollouts.get(name)
        if rollout is None:
            return None
        new, percent, stable = rollout
        return new if rollout_bucket(name, instance_id) < percent else stable

    def versions(self, name: str) -> list[str]:
        """The registered versions of ``name``, oldest first."""
        found = [v for (n, v) in self._charts if n == name]
        return sorted(found, key=_order)

    def compiled(self, name: str) -> list[CompiledChart]:
        """The registered versions of ``name``, newest first (read from a scrape's thread)."""
        found = [e.chart for (n, _), e in tuple(self._charts.items()) if n == name]
        return sorted(found, key=lambda c: _order(str(c.version)), reverse=True)

    def register_migration(self, migration: Migration) -> None:
        """Check ``migration`` against both registered versions and keep it.

        Raises:
            UnknownChart: either version is not registered.
            MigrationError: the migration is incomplete or wrong (see
                :func:`~statekeeper.core.migration.check_migration`), an effect of the old
                version has no function in the new one (its rows in flight could not run),
                or registering it would close a cycle of versions (:class:`VersionCycle`).

        """
        if not isinstance(migration, Migration):
            raise TypeError(f"register_migration takes a Migration, not {migration!r}")
        name = migration.chart
        old = self.for_start(name, migration.from_version)
        new = self.for_start(name, migration.to_version)
        check_migration(migration, old.chart, new.chart)
        unbound = sorted(old.chart.effects - set(new.effects))
        if unbound:
            raise MigrationError(f"{migration.label}: effects {unbound} may be in flight on "
                                 f"v{migration.from_version} but v{migration.to_version} binds "
                                 f"no function for them: pass them in its effects=")
        source, target = str(migration.from_version), str(migration.to_version)
        if self._path(name, target, source) is not None:
            raise VersionCycle(f"{migration.label}: v{target} already migrates to v{source}: "
                               f"a cycle of versions")
        self._migrations.setdefault((name, source), {})[target] = migration
        if migration.outcomes:
            self._put(Registered(new.chart, new.effects, new.at_most_once,
                                 {**new.outcome_events, **migration.outcomes}))

    def migration_path(self, name: str, source: str, target: str) -> list[Migration]:
        """The shortest chain of registered migrations from ``source`` to ``target``.

        Raises:
            UnknownChart: ``target`` is not a registered version.
            NoMigrationPath: no chain leads there.

        """
        self.for_start(name, target)
        path = self._path(name, str(source), str(target))
        if path is None:
            raise NoMigrationPath(f"chart {name!r}: no registered migration leads from "
                                  f"v{source} to v{target}")
        return path

    def _path(self, name: str, source: str, target: str) -> list[Migration] | None:
        known = [m for (n, _), out in self._migrations.items() if n == name
                 for m in out.values()]
        return find_path(known, name, source, target)

    def latest(self, name: str) -> Registered:
        """The newest registered version of ``name``."""
        try:
            return self._latest[name]
        except KeyError:
            known = ", ".join(sorted(self._latest)) or "none"
            raise UnknownChart(f"no chart {name!r} is registered (registered: {known})") from None

    def names(self) -> list[str]:
        """The names of the registered charts, in order (what a worker serves)."""
        return sorted(self._latest)

    def find(self, name: str, version: str) -> Registered | None:
        """The registered chart ``name`` at ``version``, or ``None`` (no check of its hash)."""
        return self._charts.get((name, str(version)))

    def get(self, name: str, version: str, hash_: str) -> Registered:
        """Exactly the chart a snapshot was taken from; refuse a different structure."""
        entry = self._charts.get((name, str(version)))
        if entry is None:
            raise UnknownChart(f"chart {name!r} version {version} is not registered")
        if entry.chart.hash != hash_:
            raise SnapshotMismatch(
                f"chart {name!r} v{version} is registered with hash {entry.chart.hash[:12]}, but "
                f"the instance was started with {hash_[:12]}: register the chart it started with"
            )
        return entry


def _names_at_most_once(names: Any, effects: set[str], chart: str) -> frozenset[str]:
    """``at_most_once`` as a set of effect names; a name of no effect is a typo, refused.

    A misspelt name would leave the effect it meant at-least-once: run again after a crash,
    where the caller asked for it never to be.
    """
    try:
        given = set(names) if not isinstance(names, str) else None
    except TypeError:  # not iterable
        given = None
    if given is None or not all(isinstance(n, str) for n in given):
        raise TypeError(f"at_most_once takes a set of effect names, not {names!r}")
    unknown = given - effects
    if unknown:
        raise ValueError(f"at_most_once names {sorted(unknown)}, which chart {chart!r} does not "
                         f"declare nor effects= bind (effects: {sorted(effects)})")
    return frozenset(given)


def rollout_bucket(chart: str, instance_id: str) -> float:
    """Where ``instance_id`` falls in a rollout of ``chart``: a number in [0, 100).

    A hash of the two names (stable across processes and releases, unlike ``hash()``), so
    every process that starts instances puts the same id on the same side.
    """
    digest = hashlib.sha256(f"{chart}\x00{instance_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10_000 / 100


def _order(version: str) -> tuple[int, int, str]:
    try:
        return (0, int(version), "")
    except ValueError:
        return (1, 0, version)


def _newer(a: Any, b: Any) -> bool:
    try:
        return int(a) > int(b)
    except (TypeError, ValueError):
        return str(a) > str(b)
