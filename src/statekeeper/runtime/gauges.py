"""Prometheus gauges read at scrape time: instances per state, stuck instances, breakers.

Why read at scrape, not kept in the process: how many instances are in a state is a fact of
the store, written by every process (a worker fires a timer, the application sends an
event), so no one process can count it from what it commits.  The store keeps the numbers
itself, in the transaction of each instance row (``Store.state_counts``: a small table, not
a scan of the instances), and a scrape reads them.  Stuck instances are counted per
configured ``(chart, state)`` by ``Store.stuck_count``, which reads only the active
instances older than the threshold, by an index.  A breaker's state is the shared one in
the store, as the last worker wrote it.

One collector per ``CollectorRegistry`` (a registry refuses two metrics of one name); each
client with metrics on adds its store to it, and takes it out when closed.  Two clients of
one database in a process count it once (stores are told apart by their ``repr``: the file,
or the server and schema).  A store that cannot be read during a scrape is logged and left
out of that scrape; the scrape itself does not fail.

Labels never hold an instance id: chart, version, state and breaker names come from the
charts and the settings.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from ..clock import Clock
from ..core.durations import Duration, parse_duration
from ..core.errors import StatekeeperError
from ..storage.base import Store
from .policies import SharedPolicies

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["BREAKER_STATES", "InvalidStuckAfter", "StoreGauges", "StuckAfter", "attach_gauges",
           "parse_stuck_after"]

#: the values of the ``state`` label of ``statekeeper_breaker_state`` (one is 1, the others 0)
BREAKER_STATES = ("closed", "open", "half_open")
_log = logging.getLogger("statekeeper.metrics")


class InvalidStuckAfter(StatekeeperError, ValueError):
    """A stuck threshold that is not ``STATE`` or ``CHART:STATE`` with a duration."""


@dataclass(frozen=True, slots=True)
class StuckAfter:
    """Instances in ``state`` (of ``chart``, or of any chart: ``None``) are stuck after ``seconds``."""

    chart: str | None
    state: str
    seconds: float


def parse_stuck_after(spec: Mapping[str, Duration] | None, *,
                      metered: bool = True) -> tuple[StuckAfter, ...]:
    """``{"STATE": "1h", "CHART:STATE": "5m"}`` as thresholds; a chart's own one wins.

    ``metered`` says whether metrics are on: thresholds without them would be ignored
    silently, so they are refused.

    Raises:
        InvalidStuckAfter: not a mapping, a key with an empty chart or state, a duration
            that is not one (``"5m"``, ``300``, a ``timedelta``) or not above 0, or
            thresholds without metrics.

    """
    if spec is not None and not isinstance(spec, Mapping):
        raise InvalidStuckAfter(f"stuck_after takes a mapping of STATE or CHART:STATE to a "
                                f"duration (say {{'offered': '5m'}}), not {spec!r}")
    if spec and not metered:
        raise InvalidStuckAfter("stuck_after sets the thresholds of a metric: turn metrics on "
                                "too (metrics=True or metrics=registry)")
    found = []
    for key, duration in (spec or {}).items():
        chart, _, state = key.rpartition(":") if isinstance(key, str) else ("", "", "")
        if not state or (":" in key and not chart):
            raise InvalidStuckAfter(
                f"stuck_after: {key!r} is not STATE or CHART:STATE (say 'offered' or "
                f"'order:offered')")
        try:
            seconds = parse_duration(duration)
        except (TypeError, ValueError) as exc:
            raise InvalidStuckAfter(f"stuck_after: {key!r}: {exc}") from None
        if not seconds > 0:
            raise InvalidStuckAfter(f"stuck_after: {key!r}: the threshold must be above 0 "
                                    f"seconds, not {duration!r}")
        found.append(StuckAfter(chart or None, state, seconds))
    return tuple(found)


def _threshold(rules: tuple[StuckAfter, ...], chart: str, state: str) -> float | None:
    general = None
    for rule in rules:
        if rule.state == state:
            if rule.chart == chart:
                return rule.seconds
            if rule.chart is None:
                general = rule.seconds
    return general


@dataclass(frozen=True, eq=False)  # detached by identity
class _Source:
    store: Store
    clock: Clock
    policies: SharedPolicies
    stuck: tuple[StuckAfter, ...]


class StoreGauges:
    """The collector of one registry: reads every attached store at each scrape."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sources: dict[str, list[_Source]] = {}

    def attach(self, source: _Source) -> Callable[[], None]:
        """Read ``source`` at each scrape until the returned function is called."""
        key = repr(source.store)
        with self._lock:
            self._sources.setdefault(key, []).append(source)

        def detach() -> None:
            with self._lock:
                found = self._sources.get(key, [])
                if source in found:
                    found.remove(source)
                if not found:
                    self._sources.pop(key, None)

        return detach

    def describe(self) -> list[Any]:
        """Nothing: prometheus-client then calls :meth:`collect` only at scrapes."""
        return []

    def collect(self) -> Iterator[Any]:
        """The gauges, read now from every attached store (one source per database)."""
        from prometheus_client.core import GaugeMetricFamily

        instances = GaugeMetricFamily(
            "statekeeper_instances", "Active instances in each state (ancestors included), as "
            "the store counts them", labels=["chart", "version", "state"])
        stuck = GaugeMetricFamily(
            "statekeeper_stuck_instances", "Active instances in a state for longer than its "
            "stuck threshold (since their configuration last changed)",
            labels=["chart", "state"])
        threshold = GaugeMetricFamily(
            "statekeeper_stuck_threshold_seconds", "The stuck threshold of a state",
            labels=["chart", "state"])
        breakers = GaugeMetricFamily(
            "statekeeper_breaker_state", "A circuit breaker's shared state: 1 for the state it "
            "is in, 0 for the others", labels=["breaker", "state"])
        with self._lock:
            sources = [found[-1] for found in self._sources.values()]
        counted: dict[tuple[str, str, str], int] = {}
        stuck_counts: dict[tuple[str, str], tuple[int, float]] = {}
        breaker_states: dict[str, str] = {}
        for source in sources:
            try:
                self._read(source, counted, stuck_counts, breaker_states)
            except StatekeeperError as exc:  # the scrape goes on with the other stores
                _log.warning("metrics: cannot read the gauges of %r: %s", source.store, exc)
        for (chart, version, state), count in sorted(counted.items()):
            instances.add_metric([chart, version, state], float(count))
        for (chart, state), (count, seconds) in sorted(stuck_counts.items()):
            stuck.add_metric([chart, state], float(count))
            threshold.add_metric([chart, state], seconds)
        for name, status in sorted(breaker_states.items()):
            for value in BREAKER_STATES:
                breakers.add_metric([name, value], 1.0 if value == status else 0.0)
        yield from (instances, stuck, threshold, breakers)

    @staticmethod
    def _read(source: _Source, counted: dict[tuple[str, str, str], int],
              stuck: dict[tuple[str, str], tuple[int, float]],
              breakers: dict[str, str]) -> None:
        counts = source.store.state_counts()
        for key, count in counts.items():
            counted[key] = counted.get(key, 0) + count
        if source.stuck:
            now = source.clock.now()
            held = {(chart, state) for (chart, _, state), n in counts.items() if n > 0}
            known = {(chart, state) for chart, _, state in counts}
            for chart, state in sorted(known):
                seconds = _threshold(source.stuck, chart, state)
                if seconds is None:
                    continue
                count = (source.store.stuck_count(chart, state, now - seconds)
                         if (chart, state) in held else 0)
                before = stuck.get((chart, state), (0, seconds))[0]
                stuck[(chart, state)] = (before + count, seconds)
        for name in sorted(source.policies.breakers):
            breakers[name] = source.policies.state(name).status


_made: WeakKeyDictionary[Any, StoreGauges] = WeakKeyDictionary()
_making = threading.Lock()


def attach_gauges(registry: CollectorRegistry, store: Store, clock: Clock,
                  policies: SharedPolicies,
                  stuck_after: tuple[StuckAfter, ...] = ()) -> Callable[[], None]:
    """Report ``store``'s gauges in ``registry`` until the returned function is called."""
    with _making:
        gauges = _made.get(registry)
        if gauges is None:
            gauges = _made[registry] = StoreGauges()
            registry.register(gauges)
    return gauges.attach(_Source(store, clock, policies, stuck_after))
