"""Charts the runtime can run, by name and version, with their behaviour bound.

A snapshot names its chart's name, version and structure hash; the registry finds exactly that
chart or refuses, so an instance is never continued by a chart it was not started with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.compile import CompiledChart, compile_chart
from ..core.errors import ChartError, SnapshotMismatch, StatekeeperError, UnboundName
from ..core.model import Chart

__all__ = ["Registered", "Registry", "UnknownChart"]


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


class Registry:
    """Registered charts; the newest version of a name is the one new instances start with."""

    def __init__(self) -> None:
        self._charts: dict[tuple[str, str], Registered] = {}
        self._latest: dict[str, Registered] = {}

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
            raise ChartError(f"chart {compiled.name!r} v{compiled.version} is already registered "
                             f"with another structure ({known.chart.hash[:12]}, not "
                             f"{compiled.hash[:12]}): give the changed chart a new version")
        entry = Registered(compiled, bound, once)
        self._charts[(compiled.name, str(compiled.version))] = entry
        latest = self._latest.get(compiled.name)
        if latest is None or _newer(compiled.version, latest.chart.version):
            self._latest[compiled.name] = entry
        return compiled

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


def _newer(a: Any, b: Any) -> bool:
    try:
        return int(a) > int(b)
    except (TypeError, ValueError):
        return str(a) > str(b)
