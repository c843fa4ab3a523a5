"""Prometheus metrics, recorded after each commit: transitions, time in state, effects, timers.

Why here and shaped like this: the numbers must tell of what is durable, so the engine
records them where it emits the structured logs (:mod:`~statekeeper.runtime.logs`), after the
group commit, from what the commit wrote.  With metrics off the engine tests one attribute
per committed group; with them on, each record costs a dictionary lookup of its cached
label child and an increment (``labels()`` itself takes a lock and is called once per
label set).

``prometheus-client`` is an optional extra (``pip install statekeeper[metrics]``): it is
imported when a :class:`Metrics` is made, never by ``import statekeeper``; without it that
raises :class:`MetricsUnavailable`.

Labels never hold an instance id, an idempotency key or an actor: each label value makes a
time series of its own, and a series per instance would grow the scrape without bound.  Chart,
state and effect names come from the charts, so they are few; event names usually are, but a
caller may send any name (rejected), so each metric keeps at most :data:`MAX_SERIES` label
sets and counts the rest under the event ``"(other)"``.

Time in a state is measured from when the instance entered its source configuration
(``InstanceRecord.entered_at``, which the store keeps; the ``in_source`` of the log records):
exact whatever was committed in between (rejected events, steps that changed only data).  In
a parallel state it is the time since any region last moved, so it errs short, never long.
"""

from __future__ import annotations

import errno
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from ..core.errors import StatekeeperError
from ..storage.records import Commit
from .planner import SELF_SEND_PREFIX, Plan
from .requests import DeliverEvent, Request

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["MAX_SERIES", "STATE_BUCKETS", "Metrics", "MetricsPortInUse", "MetricsServer",
           "MetricsUnavailable", "metrics_for", "serve_metrics"]

#: seconds in a state: 100 ms to 7 days
STATE_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 86400.0,
                 3 * 86400.0, 7 * 86400.0)
#: seconds an effect attempt took
EFFECT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                  300.0)
#: seconds a timer fired after it was due
LATENESS_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 3600.0, 86400.0)
#: label sets kept per metric; more (an unbounded set of event names) count as "(other)"
MAX_SERIES = 2000
OTHER = "(other)"


class MetricsUnavailable(StatekeeperError, ImportError):
    """Metrics were asked for, but ``prometheus-client`` is not installed."""

    def __init__(self) -> None:
        super().__init__("metrics need prometheus-client: pip install 'statekeeper[metrics]' "
                         "(or leave metrics off)")


class MetricsPortInUse(StatekeeperError, OSError):
    """The port for ``/metrics`` is taken (by another worker on this machine, say)."""

    def __init__(self, port: int, addr: str) -> None:
        self.port = port
        self.addr = addr
        super().__init__(f"cannot serve /metrics on {addr}:{port}: the port is already in use "
                         f"(another worker on this machine?); give each worker process its own "
                         f"--metrics-port, or stop the process that holds it")


def _prometheus() -> Any:
    try:
        import prometheus_client
    except ImportError:
        raise MetricsUnavailable from None
    return prometheus_client


class _Family:
    """One metric and its label children, cached, at most :data:`MAX_SERIES` of them."""

    __slots__ = ("children", "metric")

    def __init__(self, metric: Any) -> None:
        self.metric = metric
        self.children: dict[tuple[str, ...], Any] = {}

    def child(self, key: tuple[str, ...], other: tuple[str, ...]) -> Any:
        found = self.children.get(key)
        if found is None:
            if len(self.children) >= MAX_SERIES:
                key = other
                found = self.children.get(key)
                if found is not None:
                    return found
            found = self.children[key] = self.metric.labels(*key)
        return found


class Metrics:
    """The statekeeper metrics of one ``CollectorRegistry`` (see :func:`metrics_for`)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        prometheus = _prometheus()
        counter, histogram = prometheus.Counter, prometheus.Histogram
        self.registry = registry
        self.transitions = _Family(counter(
            "statekeeper_transitions", "Committed transition log rows, by chart, event and "
            "outcome (applied, rejected, ignored, denied, migrated)",
            ["chart", "event", "outcome"], registry=registry))
        self.in_state = _Family(histogram(
            "statekeeper_state_duration_seconds", "Time an instance spent in a state, observed "
            "when it left the state", ["chart", "state"], buckets=STATE_BUCKETS,
            registry=registry))
        self.effect_attempts = _Family(counter(
            "statekeeper_effect_attempts", "Effect attempts that called the effect, by chart, "
            "effect and outcome (ok, error, timeout)", ["chart", "effect", "outcome"],
            registry=registry))
        self.effect_seconds = _Family(histogram(
            "statekeeper_effect_duration_seconds", "Time an effect attempt took",
            ["chart", "effect"], buckets=EFFECT_BUCKETS, registry=registry))
        self.lateness = _Family(histogram(
            "statekeeper_timer_lateness_seconds", "Seconds after its due time a timer's event "
            "was committed", ["chart"], buckets=LATENESS_BUCKETS, registry=registry))

    # -- the engine's group ------------------------------------------------------------------

    def committed(self, planned: Sequence[tuple[Request, Plan]], lost: set[int]) -> None:
        """Record a committed group: ``planned`` less the commits whose ids are in ``lost``."""
        for request, plan in planned:
            commit = plan.commit
            if commit is None or id(commit) in lost:
                continue
            if plan.migration is not None:  # a lazy migration, written just before it
                self.rows(plan.migration, None)
            self.rows(commit, plan.since)
            if (type(request) is DeliverEvent and request.lateness is not None
                    and commit.timer_fired is not None  # not a stale timer's bookkeeping
                    and not commit.timer_fired.startswith(SELF_SEND_PREFIX)):
                chart = commit.instance.chart
                self.lateness.child((chart,), (chart,)).observe(request.lateness)

    def migrated(self, commits: Iterable[Commit]) -> None:
        """Record the rows of committed migrations (``statekeeper migrate``)."""
        for commit in commits:
            self.rows(commit, None)

    def rows(self, commit: Commit, since: float | None) -> None:
        """Count ``commit``'s log rows; observe the time in each state its transitions left.

        ``since`` is when the instance entered its configuration before the commit (``None``:
        a start or a migration, which leave no state of the instance's own doing).
        """
        chart = commit.instance.chart
        for row in commit.transitions:
            outcome = row.outcome
            self.transitions.child((chart, row.event, outcome),
                                   (chart, OTHER, outcome)).inc()
            if since is not None and outcome == "applied" and row.source != row.target:
                spent = max(0.0, row.at - since)
                target = row.target
                for state in row.source:
                    if state not in target:
                        self.in_state.child((chart, state), (chart, OTHER)).observe(spent)
            if row.source != row.target:  # a row that stays keeps the time it was entered
                since = row.at

    # -- the effect runner -------------------------------------------------------------------

    def effect(self, chart: str, effect: str, outcome: str, duration: float | None) -> None:
        """Record one finished effect attempt."""
        self.effect_attempts.child((chart, effect, outcome), (chart, OTHER, outcome)).inc()
        if duration is not None:
            self.effect_seconds.child((chart, effect), (chart, OTHER)).observe(
                max(0.0, duration))


_made: WeakKeyDictionary[Any, Metrics] = WeakKeyDictionary()
_making = threading.Lock()


def metrics_for(registry: CollectorRegistry | None = None) -> Metrics:
    """The :class:`Metrics` of ``registry`` (``None``: prometheus-client's default one).

    One per registry: two clients of one process given the same registry share its metrics
    (a registry refuses a second metric of the same name).

    Raises:
        MetricsUnavailable: ``prometheus-client`` is not installed.
        TypeError: ``registry`` is not a ``CollectorRegistry``.

    """
    prometheus = _prometheus()
    if registry is None:
        registry = prometheus.REGISTRY
    elif not isinstance(registry, prometheus.CollectorRegistry):
        raise TypeError(f"metrics= takes True, False or a prometheus_client.CollectorRegistry, "
                        f"not {registry!r}")
    with _making:
        found = _made.get(registry)
        if found is None:
            found = _made[registry] = Metrics(registry)
        return found


class MetricsServer:
    """A running ``/metrics`` HTTP server (prometheus-client's), in a daemon thread."""

    def __init__(self, server: Any, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        #: the port it listens on (the one the OS chose, when asked for port 0)
        self.port: int = server.server_port

    def close(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def serve_metrics(port: int, *, addr: str = "0.0.0.0",
                  registry: CollectorRegistry | None = None) -> MetricsServer:
    """Serve ``registry`` (default: prometheus-client's) at ``http://addr:port/metrics``.

    Raises:
        MetricsUnavailable: ``prometheus-client`` is not installed.
        MetricsPortInUse: another process (or server) holds the port.

    """
    prometheus = _prometheus()
    try:
        server, thread = prometheus.start_http_server(
            port, addr=addr, registry=prometheus.REGISTRY if registry is None else registry)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise MetricsPortInUse(port, addr) from None
        raise
    return MetricsServer(server, thread)
