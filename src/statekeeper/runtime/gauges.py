"""Prometheus gauges read at scrape time: instances per state, stuck instances, breakers.

Why read at scrape, not kept in the process: how many instances are in a state is a fact of
the store, written by every process (a worker fires a timer, the application sends an
event), so no one process can count it from what it commits.  The store keeps the numbers
itself, in the transaction of each instance row (``Store.state_counts``: a small table, not
a scan of the instances), and a scrape reads them.  Stuck instances are counted per
``(chart, state)`` with a threshold (the chart's or the operator's, :mod:`._stuck`) by
``Store.stuck_count``, which reads only the active instances older than the threshold, by
an index.  A breaker's state is the shared one in the store, as the last worker wrote it.

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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from ..clock import Clock
from ..core.compile import CompiledChart
from ..core.errors import StatekeeperError
from ..storage.base import Store
from ._stuck import InvalidStuckAfter, StuckAfter, Thresholds, parse_stuck_after
from .policies import SharedPolicies

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["BREAKER_STATES", "InvalidStuckAfter", "StoreGauges", "StuckAfter", "attach_gauges",
           "parse_stuck_after"]

#: the values of the ``state`` label of ``statekeeper_breaker_state`` (one is 1, the others 0)
BREAKER_STATES = ("closed", "open", "half_open")
_log = logging.getLogger("statekeeper.metrics")


@dataclass(frozen=True, eq=False)  # detached by identity
class _Source:
    store: Store
    clock: Clock
    policies: SharedPolicies
    stuck: Thresholds


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
        now = source.clock.now()
        held = {(chart, state) for (chart, _, state), n in counts.items() if n > 0}
        known = sorted({(chart, state) for chart, _, state in counts})
        thresholds: dict[str, Callable[[str], float | None]] = {}
        for chart, state in known:
            if chart not in thresholds:
                thresholds[chart] = source.stuck.for_chart(chart)
            seconds = thresholds[chart](state)
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
                  stuck_after: tuple[StuckAfter, ...] = (),
                  charts: Callable[[str], Sequence[CompiledChart]] | None = None,
                  ) -> Callable[[], None]:
    """Report ``store``'s gauges in ``registry`` until the returned function is called.

    ``charts(name)`` gives a chart's registered versions, newest first, for the thresholds
    the charts declare (``State(stuck_after=)``); the operator's ``stuck_after`` combines
    with them as :class:`~statekeeper.runtime._stuck.Thresholds` says.
    """
    with _making:
        gauges = _made.get(registry)
        if gauges is None:
            gauges = _made[registry] = StoreGauges()
            registry.register(gauges)
    return gauges.attach(_Source(store, clock, policies,
                                 Thresholds(stuck_after, charts)))
