"""What :class:`Client` and :class:`AsyncClient` share: store, engine, worker, registry."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..clock import Clock, SystemClock
from ..core._records import positional_constructor
from ..core.compile import CompiledChart
from ..core.durations import Duration
from ..core.events import RESERVED_PREFIX, Event, refuse_reserved
from ..core.limits import DEFAULT_LIMITS, Limits
from ..core.model import Chart
from ..core.payload import check_payload, is_flat
from ..core.validate import did_you_mean
from ..resilience import Breaker
from ..runtime.authz import Principal
from ..runtime.effects import AttemptHook
from ..runtime.engine import Engine
from ..runtime.gauges import attach_gauges, parse_stuck_after
from ..runtime.gc_tuning import GcTuning, tune_gc, tuning_of
from ..runtime.idempotency import fingerprint
from ..runtime.metrics import Metrics, metrics_for
from ..runtime.registry import Registry
from ..runtime.requests import Answer, DeliverEvent, StartInstance
from ..runtime.state import InstanceState
from ..runtime.tracing import tracing_for
from ..runtime.worker import Worker
from ..storage.base import Store
from ..storage.records import CorruptedRow
from ..storage.urls import open_store
from ._audit import AuditMixin
from ._authz import AuthzMixin
from ._checks import check_count, check_options, check_text, check_wait, check_wait_flag, shown
from ._page import QueryPage
from ._privacy import PrivacyMixin
from ._receive import ReceiveMixin
from ._tracing import trace_context
from ._versions import VersionsMixin
from .errors import ArgumentTypeError, InvalidArgument, UnknownState

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider
    from prometheus_client import CollectorRegistry

__all__ = ["check_count", "check_text", "check_wait", "check_wait_flag", "open_store"]


# every field, positionally (name data type sendid origin origintype invokeid meta): one per send
_new_event = positional_constructor(Event)
_new_delivery = positional_constructor(DeliverEvent)

_T = TypeVar("_T")


class _BaseClient(VersionsMixin, AuditMixin, AuthzMixin, PrivacyMixin, ReceiveMixin):
    """Everything the twins share: the store, the registry, the engine and the worker."""

    def __init__(self, store: Store | str | Path, *, clock: Clock | None = None,
                 worker: bool = True, lease: float = 30.0, concurrency: int = 8,
                 poll: float = 1.0, late_policy: str = "fire_late", late_tolerance: float = 1.0,
                 breakers: Mapping[str, Breaker] | None = None,
                 hooks: Sequence[AttemptHook] = (), rng: random.Random | None = None,
                 limits: Limits | None = None, log_level: int = logging.DEBUG,
                 principal: Principal | None = None,
                 metrics: bool | CollectorRegistry = False,
                 tracing: bool | TracerProvider = False,
                 gc: bool | GcTuning | None = None,
                 stuck_after: Mapping[str, Duration] | None = None) -> None:
        """Open the store and start the engine.

        Register every chart right after opening: the background worker leaves the effects
        of charts it does not know for a worker that does.

        Args:
            store: a URL (``sqlite:///orders.db``, ``memory://``), a path, or a ``Store``.
            clock: the time source (a :class:`~statekeeper.VirtualClock` in tests).
            worker: run the timer and outbox worker in background threads; ``False`` to
                drive it yourself with ``client.worker.run_until_idle()``.
            lease: seconds an effect is leased to this worker before another may take it.
            concurrency: effects run at once by this worker.
            poll: seconds between the worker's looks for work it was not told about (on
                PostgreSQL, wake-ups by ``NOTIFY`` make this a fallback: raise it).
            late_policy: ``"fire_late"`` or ``"skip"`` for timers found overdue after downtime
                whose chart states no ``late`` policy of its own (a stated one wins).
            late_tolerance: seconds of lateness that still count as on time.
            breakers: circuit breaker settings by the names charts use; their state is shared
                through the store with every other worker.
            hooks: called with every effect attempt started and finished.
            rng: the random source of retry jitter (seed one for reproducible schedules).
            limits: bounds on the data and payloads callers give (``max_depth``,
                ``max_payload_bytes``); :data:`~statekeeper.core.limits.DEFAULT_LIMITS` by
                default.
            log_level: the level of the structured records of every committed transition
                (logger ``statekeeper.transitions``) and effect attempt
                (``statekeeper.effects``): ``DEBUG`` by default, so nothing reaches an
                ``INFO`` handler unless asked; see ``docs/observability.md``.
            principal: who calls that name no ``principal=`` act as, for the charts given
                a policy with :meth:`authorize` (see ``docs/security.md``).
            metrics: record Prometheus metrics of transitions, time in state, effects and
                timers: ``True`` in prometheus-client's default registry, or in the
                ``CollectorRegistry`` given (needs ``statekeeper[metrics]``; see
                ``docs/observability.md``).
            tracing: make OpenTelemetry spans of every committed step and effect attempt:
                ``True`` with the global tracer provider, or with the ``TracerProvider``
                given (needs ``statekeeper[tracing]``; see ``docs/observability.md``).
            gc: ``True`` or a :class:`~statekeeper.runtime.gc_tuning.GcTuning`: set Python's
                garbage collector for the engine once the client is up (a larger young
                threshold, :func:`gc.freeze`), which cuts the pauses that delay timers; the
                setting is the whole process's, so the default leaves it alone.
            stuck_after: with metrics, the thresholds of ``statekeeper_stuck_instances``:
                ``{"STATE": "1h", "CHART:STATE": "5m"}`` (a chart's own one wins).

        Raises:
            TypeError: ``store`` is not a URL, a path or a store, ``metrics`` is not a
                bool or a ``CollectorRegistry``, or ``tracing`` a bool or a ``TracerProvider``.
            MetricsUnavailable: ``metrics`` was asked for without prometheus-client.
            TracingUnavailable: ``tracing`` was asked for without opentelemetry-api.
            InvalidStuckAfter: a ``stuck_after`` key or duration is not one.
            ValueError: a setting is out of range (a lease or tolerance that is not a number
                of seconds, a concurrency below 1, a log level that is not one); the message
                names it.

        """
        if isinstance(log_level, bool) or not isinstance(log_level, int) or log_level < 0:
            raise ValueError(f"log_level= takes a logging level (logging.INFO, say), not "
                             f"{log_level!r}")
        self.log_level = log_level
        tuning = tuning_of(gc)
        if principal is not None and not isinstance(principal, Principal):
            raise TypeError(f"principal= takes a Principal, not {principal!r}")
        self.principal = principal
        self.metrics: Metrics | None = (None if metrics is False or metrics is None
                                        else metrics_for(None if metrics is True else metrics))
        self.clock: Clock = clock or SystemClock()
        self.tracing = tracing_for(tracing, self.clock)
        stuck = parse_stuck_after(stuck_after, metered=self.metrics is not None)
        if limits is not None and not isinstance(limits, Limits):
            raise TypeError(f"limits= takes a Limits, not {limits!r}")
        self.limits = DEFAULT_LIMITS if limits is None else limits
        opened = isinstance(store, (str, Path))
        if not opened and not all(callable(getattr(store, m, None))
                                  for m in ("migrate", "apply", "load", "close")):
            raise TypeError(f"Client takes a store URL, a path or a Store, not {store!r}")
        self.store: Store = open_store(store) if isinstance(store, (str, Path)) else store
        try:  # every argument is checked before a thread starts
            self.store.migrate()
            self.registry = Registry()
            self.engine = Engine(self.store, self.registry, self.clock)
            self.worker = Worker(self.engine, lease=lease, concurrency=concurrency, poll=poll,
                                 late_policy=late_policy, late_tolerance=late_tolerance,
                                 breakers=breakers, hooks=hooks, rng=rng)
            self.engine.log_level = self.worker.runner.log_level = log_level
            self.engine.metrics = self.worker.runner.metrics = self.metrics
            self.engine.tracing = self.worker.runner.tracing = self.tracing
        except BaseException:
            if opened:  # a store the caller handed in stays the caller's to close
                self.store.close()
            raise
        self.engine.start()
        self._watchers: list[Callable[[InstanceState], None]] = []
        #: called once the client is closed: watches end, waits fail (no change will come)
        self._closers: list[Callable[[], None]] = []
        self.engine.on_commit.append(self._notify)
        if self.metrics is not None:  # instances per state, stuck ones, breakers: at scrape
            self._closers.append(attach_gauges(self.metrics.registry, self.store, self.clock,
                                               self.worker.policies, stuck,
                                               self.registry.compiled))
        if worker:
            self.worker.start()
        if tuning is not None:
            tune_gc(tuning, self.engine)

    def register(
        self,
        chart: Chart | CompiledChart,
        *,
        guards: Mapping[str, Callable[..., Any]] | None = None,
        functions: Mapping[str, Callable[..., Any]] | None = None,
        effects: Mapping[str, Callable[..., Any]] | None = None,
        at_most_once: set[str] | frozenset[str] = frozenset(),
    ) -> CompiledChart:
        """Register a chart with its bound behaviour; new instances use its newest version.

        ``at_most_once`` names effects that must never run twice: a crash during one delivers
        ``error.effect.<name>`` instead of a second run.
        """
        return self.registry.register(chart, guards=guards, functions=functions,
                                      effects=effects, at_most_once=at_most_once)

    def _start(self, chart: str | Chart | CompiledChart, instance_id: str,
               data: Mapping[str, Any] | None, labels: Mapping[str, str] | None,
               version: int | str | None = None,
               principal: Principal | None = None,
               traceparent: str | None = None) -> Future[InstanceState]:
        request = self._start_request(chart, instance_id, data, labels, version, principal,
                                      traceparent, None)
        return self.engine.submit(request)

    def _start_request(self, chart: str | Chart | CompiledChart, instance_id: str,
                       data: Mapping[str, Any] | None, labels: Mapping[str, str] | None,
                       version: int | str | None, principal: Principal | None,
                       traceparent: str | None, answer: Answer | None) -> StartInstance:
        """A checked start, answered to ``answer`` (``None``: a new ``Future``).

        Every refusal is raised here, on the caller's thread, before anything is queued.
        """
        longest = self.limits.max_name_length
        check_text("start", "instance_id", instance_id, longest=longest)
        if isinstance(chart, str):
            check_text("start", "chart", chart, longest=longest)
            name = chart
        elif isinstance(chart, (Chart, CompiledChart)):
            name = chart.name
        else:
            raise ArgumentTypeError(f"start() chart= takes a chart name, a Chart or a "
                                    f"CompiledChart, not {shown(chart)}")
        if data is not None and not isinstance(data, Mapping):
            raise ArgumentTypeError(
                f"start() data= takes a mapping (the instance's data), not {shown(data)}")
        if labels is not None:
            if not (isinstance(labels, Mapping) and all(
                    type(k) is str and type(v) is str for k, v in labels.items())):
                raise ArgumentTypeError(
                    f"start() labels= maps strings to strings, not {shown(labels)}")
            for key, value in labels.items():
                check_text("start", "labels", key, longest=longest)
                check_text("start", "labels", value, empty=True, longest=longest)
        if data:
            check_payload(dict(data), limits=self.limits, what="instance data")
        if version is None:
            version = self.registry.start_version(name, instance_id)  # a rollout's choice
        else:
            if type(version) not in (int, str):
                raise ArgumentTypeError(f"start() version= takes a chart version (an int or a "
                                        f"string), not {shown(version)}")
            self.registry.for_start(name, version)  # refused here, on the caller's thread
        actor = self._authorize_start(name, instance_id, data, labels, version, principal)
        if traceparent is not None or self.tracing is not None:
            traceparent = trace_context(self.tracing, "start", traceparent)
        return StartInstance(name, instance_id, dict(data or {}), dict(labels or {}),
                             Future() if answer is None else answer,
                             None if version is None else str(version), traceparent,
                             actor=actor)

    def _delivery(self, instance_id: str, event: str | Event, data: Any,
                  idempotency_key: str | None, actor: str | None,
                  trace_id: str | None, answer: Answer | None = None,
                  principal: Principal | None = None,
                  traceparent: str | None = None) -> DeliverEvent:
        longest = self.limits.max_name_length
        # the usual id passes untouched; anything else gets check_text's answer
        if not (type(instance_id) is str and instance_id and instance_id.isascii()
                and len(instance_id) <= longest and "\x00" not in instance_id):
            check_text("send", "instance_id", instance_id, longest=longest)
        if type(event) is str:
            ev = _new_event(event, data, "external", None, None, None, None, {})
        elif isinstance(event, Event):
            if data is not None:
                raise InvalidArgument("send() data= is for an event given by name; an Event "
                                      "carries its own data (Event(name, data))")
            ev = event
        elif isinstance(event, str):  # a str subclass (an enum.StrEnum, say)
            ev = _new_event(str(event), data, "external", None, None, None, None, {})
        else:
            raise ArgumentTypeError(
                f"send() event= takes an event name (str) or an Event, not {shown(event)}")
        name = ev.name
        if not (type(name) is str and name.isascii() and len(name) <= longest
                and "\x00" not in name):
            check_text("send", "event", name, empty=True, longest=longest)
        if not name:
            raise InvalidArgument("send() event= '' is not an event a caller may send (it is "
                                  "empty: name the event)")
        if name.startswith(RESERVED_PREFIX):
            refuse_reserved(name)
        payload = ev.data
        if payload is not None and not (payload.__class__ is dict
                                        and is_flat(payload, self.limits)):
            check_payload(payload, limits=self.limits, what="event data")
        if idempotency_key is not None or actor is not None or trace_id is not None:
            check_options(idempotency_key, actor, trace_id, longest)
        if principal is not None or self.principal is not None:
            principal, actor = self._principal(principal, actor)
        if traceparent is not None or self.tracing is not None:
            traceparent = trace_context(self.tracing, "send", traceparent)
        return _new_delivery(  # instance event strict idempotency_key actor trace_id ...
            instance_id, ev, True, idempotency_key, actor, trace_id,
            None, None, None, None, [],  # timer_id lateness effect_finish effect_release letters
            Future() if answer is None else answer, None, 0, False,  # future due conflicts chained
            None if idempotency_key is None else fingerprint(ev),
            principal, True, traceparent)  # principal authorize: a caller's event, its trace

    def _send(self, instance_id: str, event: str | Event, data: Any, idempotency_key: str | None,
              actor: str | None, trace_id: str | None,
              principal: Principal | None = None,
              traceparent: str | None = None) -> Future[InstanceState]:
        return self.engine.submit(self._delivery(instance_id, event, data, idempotency_key,
                                                 actor, trace_id, principal=principal,
                                                 traceparent=traceparent))

    def _check_state(self, current: InstanceState, state: str) -> None:
        """Refuse to wait for a state the instance's chart does not have: it would never come.

        An instance of a chart this client has not registered is not checked.
        """
        entry = self.registry.find(current.chart, current.version)
        if entry is not None and state not in entry.chart.nodes:
            raise UnknownState(f"when(): chart {current.chart!r} v{current.version} has no "
                               f"state {state!r}{did_you_mean(str(state), entry.chart.nodes)}")

    def _get(self, instance_id: str) -> InstanceState:
        check_text("get", "instance_id", instance_id, longest=self.limits.max_name_length)
        return InstanceState.from_record(self.store.load(instance_id))

    def _query(self, chart: str | None, state: str | None, labels: Mapping[str, str] | None,
               status: str | None, limit: int, after: str | None) -> QueryPage:
        longest = self.limits.max_name_length
        for name, value in (("chart", chart), ("state", state), ("status", status),
                            ("after", after)):
            check_text("query", name, value, optional=True, empty=name == "after",
                       longest=longest)
        if labels is not None and not (isinstance(labels, Mapping) and all(
                type(k) is str and type(v) is str for k, v in labels.items())):
            raise ArgumentTypeError(
                f"query() labels= maps strings to strings, not {shown(labels)}")
        check_count("query", "limit", limit, least=1)
        corrupted: list[CorruptedRow] = []
        records = self.store.query(chart=chart, state=state, labels=labels, status=status,
                                   limit=limit, after=after, corrupted=corrupted)
        return QueryPage([InstanceState.from_record(r) for r in records], corrupted)

    def _check_history(self, instance_id: Any, limit: Any, after: Any) -> None:
        check_text("history", "instance_id", instance_id, longest=self.limits.max_name_length)
        check_count("history", "limit", limit, least=1, optional=True)
        check_count("history", "after", after, least=0)
        self._operators_only("history", instance_id)

    def _notify(self, state: InstanceState) -> None:
        if self._watchers:  # once per commit: nothing to copy when nobody watches
            # each watcher gets its own copy: the caller's answer is ``state`` itself, and
            # one reader editing what it was handed must not change what another reads
            for watcher in list(self._watchers):
                watcher(state.copy())

    def _close(self, timeout: float | None = None) -> None:
        self.worker.close(timeout)
        self.engine.close()
        self.store.close()
        for closer in list(self._closers):
            closer()
