"""The engine: the one code path that commits steps, with group commit.

Why one writer thread: SQLite allows one writer at a time, and an fsync costs the same for one
row as for a thousand.  Callers (any thread, or asyncio through futures) put requests on a
queue; the engine takes everything waiting, runs each request's pure step, and writes all the
resulting commits in one transaction.  Under load this amortises the fsync over the batch
without giving up ``synchronous=FULL``: no caller is answered before its commit is durable.

Events for one instance are applied one at a time, in arrival order, each on the snapshot the
previous one produced.  A commit that loses an optimistic ``rev`` check (another process
changed the instance) is planned again on fresh state, up to ``max_conflicts`` times (then the
caller gets :class:`CommitConflict`); a timer or effect outcome that another worker already
delivered is settled instead of re-planned.  Nothing is answered twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any

from ..clock import Clock
from ..core.snapshot import Snapshot
from ..storage.base import CommitUncertain, InstanceExists, Store
from ..storage.records import InstanceRecord, MailboxRecord
from .authz import check_event
from .birth_leases import Lessee, handed_to, lease_at_birth
from .cache import InstanceCache
from .chain import chain, unsettle
from .conflicts import retry_lost, timer_handled
from .errors import CommitConflict, EngineClosed, UnknownDeadLetter
from .idempotency import check_repeat
from .inbox import STOP, Inbox
from .metrics import Metrics
from .observe import after_group
from .planner import Plan, plan_admin, plan_delivery, plan_denied, plan_poisoned, plan_start
from .registry import Registry
from .requests import Administer, DeliverEvent, Request, StartInstance
from .state import InstanceState
from .tracing import Tracing
from .uncertain import sort_out

__all__ = ["CommitConflict", "Engine", "EngineClosed", "UnknownDeadLetter"]

_log = logging.getLogger("statekeeper.runtime")


class Engine:
    """Plans and commits every step; see the module docstring for why it works this way."""

    def __init__(self, store: Store, registry: Registry, clock: Clock, *,
                 max_batch: int = 1024, cache_size: int = 10_000,
                 max_conflicts: int = 32, linger: float = 0.0003) -> None:
        self.store = store
        self.registry = registry
        self.clock = clock
        self.max_batch, self.max_conflicts = max_batch, max_conflicts
        self._queue = Inbox()
        self._cache = InstanceCache(store, cache_size)  # recently used instances
        self._thread: threading.Thread | None = None
        self.linger = linger
        self._expected = 0
        self.on_commit: list[Callable[[InstanceState], None]] = []
        self.on_effects: list[Callable[[], None]] = []
        self.on_timer: list[Callable[[float], None]] = []
        #: a running worker of this process: new effects are leased to it (birth_leases.py)
        self.lessee: Lessee | None = None
        self.commits = self.batches = 0
        self._deferred: list[Callable[[], None]] | None = None
        # the idempotency keys the group being planned read ahead (prefetch_group): the first
        # result recorded for each, or None if it was not seen
        self._keys_read: Mapping[tuple[str, str], MailboxRecord | None] = {}
        self._ident: int | None = None
        #: the level of the records of committed transitions (``statekeeper.transitions``)
        self.log_level = logging.DEBUG
        #: Prometheus metrics and OpenTelemetry spans made after each group commit (None: off)
        self.metrics: Metrics | None = None
        self.tracing: Tracing | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start the committer thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="statekeeper-engine",
                                            daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Finish the queued work, then stop the committer thread.

        A request queued after the thread took its stop (by a ``post`` racing this call) is
        failed with :class:`EngineClosed`, never left unanswered.
        """
        if self._thread is not None:
            self._queue.put(STOP)
            self._thread.join()
            self._thread = None
        self._drain()

    def flush(self) -> None:
        """Wait until every request queued before this call has been committed or answered."""
        barrier: Future[None] = Future()
        self._queue.put(barrier)
        if self._thread is None:
            self._drain()
        barrier.result()

    def submit(self, request: Request) -> Future[InstanceState]:
        """Queue a request; its future resolves once its commit is durable."""
        future = request.future
        if not isinstance(future, Future):
            raise TypeError("submit() returns the request's Future; use post() for a request "
                            "with another kind of answer")
        self.post(request)
        return future

    def post(self, request: Request) -> None:
        """Queue a request; its :class:`~statekeeper.runtime.requests.Answer` is set later.

        Raises:
            EngineClosed: the engine is closed (or was never started).

        """
        if self._thread is None:
            self._drain()
            raise EngineClosed
        self._queue.put(request)
        if self._thread is None:  # closed meanwhile: the request may have missed the thread
            self._drain()

    def post_many(self, requests: list[Request]) -> None:
        """Queue ``requests`` in order, as one item: the engine's thread is woken once.

        For a caller that gathers what its tasks sent in one turn of an event loop (see
        :class:`~statekeeper.client.AsyncClient`): sixteen puts would wake this thread up to
        sixteen times, each wake-up a system call and a wait for the GIL.  Never raises: on
        a closed engine each request is answered with :class:`EngineClosed`.
        """
        if self._thread is None:
            self._drain()
            for request in requests:
                request.future.set_exception(EngineClosed())
            return
        size = self.max_batch  # a group stays within about twice the batch limit
        for start in range(0, len(requests), size):
            self._queue.put(requests[start:start + size])
        if self._thread is None:  # closed meanwhile: the requests may have missed the thread
            self._drain()

    def _drain(self) -> None:
        self._queue.drain()

    def after_answers(self, fn: Callable[[], None]) -> None:
        """Call ``fn`` once every answer of the batch being committed is set; now if none is.

        For callers that wake another thread per answer (an event loop): one wake-up for the
        whole group instead of one that lets the woken thread take the GIL halfway through it.
        """
        deferred = self._deferred
        if deferred is not None and threading.get_ident() == self._ident:
            deferred.append(fn)
        else:
            fn()

    def _run_deferred(self) -> None:
        deferred, self._deferred = self._deferred or [], None
        for fn in deferred:
            try:
                fn()
            except Exception:  # noqa: BLE001 - one broken hook must not keep others waiting
                _log.exception("after-answers hook failed")

    # ------------------------------------------------------------------ the loop

    def _run(self) -> None:
        self._ident = threading.get_ident()
        retry: list[Request] = []
        stopping = False
        while True:
            batch: list[Any] = retry
            retry = []
            if not batch and (stopping or self._queue.wait(batch)):
                return
            stopping = self._queue.take(batch, self.max_batch) or stopping
            if not stopping and len(batch) < self._expected <= self.max_batch and self.linger:
                # fewer than the last group: wait a moment for the rest of the burst (a
                # single caller, whose batches are of one, never waits)
                stopping = self._queue.linger(batch, self._expected, self.linger)
            self._expected = len(batch) if len(batch) > 1 else 0
            barriers = [b for b in batch if isinstance(b, Future)]
            if barriers:
                batch = [r for r in batch if not isinstance(r, Future)]
            self._deferred = []
            try:
                retry = self._process(batch)
            except BaseException as exc:  # noqa: BLE001 - never leave a caller waiting forever
                _log.exception("engine batch failed")
                for request in batch:
                    if not request.future.done():
                        request.future.set_exception(exc)
                self._cache.clear()
            finally:
                self._run_deferred()
            for barrier in barriers:
                if retry:
                    self._queue.put(barrier)  # answer it after the retried requests
                else:
                    barrier.set_result(None)

    def _process(self, batch: list[Request]) -> list[Request]:
        self._keys_read = self._cache.prefetch_group(batch)
        now = self.clock.now()
        working: dict[str, tuple[InstanceRecord, Snapshot]] = {}
        planned: list[tuple[Request, Plan]] = []
        later: list[Request] = []
        keys: set[tuple[str, str]] = set()
        for request in batch:
            if isinstance(request, DeliverEvent) and request.idempotency_key:
                key = (request.instance, request.idempotency_key)
                if key in keys:
                    later.append(request)  # same key twice in one batch: answer after the first
                    continue
                keys.add(key)
            elif isinstance(request, StartInstance) and request.instance_id in working:
                # Answer only once the first start's commit is durable: "it exists" must not
                # reach a caller before the instance does (nor if that commit fails).
                later.append(request)
                continue
            plan = self._plan(request, working, now)
            if plan is None:
                continue
            if plan.commit is None:
                self._answer(request, plan)
                continue
            assert plan.snapshot is not None
            working[plan.commit.instance.id] = (plan.commit.instance, plan.snapshot)
            planned.append((request, plan))
            if plan.commit.timers_set:  # events it sent itself come next (chain.py)
                chain(plan, lambda sent: self._plan(sent, working, now), working, planned)
        if planned:
            self._commit(planned, later)
        return later

    def _plan(self, request: Request, working: dict[str, tuple[InstanceRecord, Snapshot]],
              now: float) -> Plan | None:
        try:
            if isinstance(request, StartInstance):
                if request.instance_id in working:
                    raise InstanceExists(request.instance_id)
                return plan_start(request, self.registry.for_start(request.chart,
                                                                   request.version), now)
            if isinstance(request, Administer):
                record, snapshot = working.get(request.instance) or self._cache.read(request.instance)
                return plan_admin(request, record, snapshot, now)
            # The instance first, the mailbox second: if another writer committed this key in
            # between, the mailbox shows it; if not, the state read is older than that commit,
            # and the rev check sends this one back to be planned again.  (The other order
            # could plan a strict event on the state *after* its own first delivery.)
            record, snapshot = working.get(request.instance) or self._cache.read(request.instance)
            if request.authorize and self.registry.policies:  # before the mailbox: a
                policy = self.registry.policies.get(record.chart)  # repeat is checked too
                if policy is not None and (why := check_event(
                        policy, request.principal, request.event.name, record)) is not None:
                    return plan_denied(request, record, snapshot, now, why)
            if request.timer_id is not None:  # guarded by its row, not a mailbox row
                if timer_handled(self.store, request, snapshot):
                    request.future.set_result(InstanceState.from_record(record, "duplicate"))
                    return None
            elif request.idempotency_key and not request.row_guarded:  # (an effect's outcome
                # is guarded by its outbox row: a duplicate loses its commit and is settled)
                key = (request.instance, request.idempotency_key)
                read = self._keys_read
                seen = read[key] if key in read else self.store.mailbox(*key)
                if seen is not None:
                    if request.strict:  # a caller's: the same request, or refused
                        check_repeat(seen, request)
                    state = InstanceState.from_dict({**seen.result, "outcome": "duplicate"})
                    request.future.set_result(state)
                    return None
            plan = plan_delivery(request, record, snapshot, self.registry, now,
                                 checked=request.instance not in self._cache.unchecked)
            self._cache.unchecked.discard(request.instance)
            return plan
        except BaseException as exc:  # noqa: BLE001 - the caller gets the error, others go on
            request.future.set_exception(exc)
            return None

    def _commit(self, planned: list[tuple[Request, Plan]], later: list[Request], *,
                poison: bool = True) -> None:
        commits = [plan.commit for _, plan in planned if plan.commit is not None]
        if (lessee := self.lessee) is not None:
            lease_at_birth(planned, lessee.owner, lessee.lease, self.clock.now())
        if self.registry.lazy:  # a lazily migrated instance: its migration's commit first
            commits = [c for _, plan in planned for c in (plan.migration, plan.commit)
                       if c is not None]
        try:
            conflicts = self.store.apply(commits)
        except ValueError as exc:  # a malformed commit: the store refused it before writing
            if len(planned) == 1:
                request = planned[0][0]
                if poison and isinstance(request, DeliverEvent) and not request.strict:
                    self._poison(request, str(exc), later)
                else:
                    self._fail(planned, exc)
                return
            # One request's data cannot be stored (not JSON, say): write the group again one
            # commit at a time, so that only the caller whose request was bad hears of it.
            # Each commit then answers for itself: its chain may not land with it.
            for one in planned:
                unsettle(one[1])
                self._commit([one], later)
            return
        except CommitUncertain as exc:  # the connection died in COMMIT: read what landed
            self._cache.clear()
            if (found := sort_out(self.store, planned, commits)) is None:
                self._fail(planned, exc)
                return
            later.extend(found.again)
            planned, conflicts = found.rest, found.lost
        except BaseException as exc:  # noqa: BLE001 - nothing was written: tell every caller
            self._fail(planned, exc)
            return
        self.batches += 1
        # By commit, not by instance: an earlier commit of the same instance in this batch may
        # have been written although a later one lost (a stale timer); it must not run twice.
        lost = {id(c) for c in conflicts}
        created_conflicts = {id(c) for c in conflicts if c.expected_rev is None}
        for request, plan in planned:
            assert plan.commit is not None and plan.snapshot is not None
            instance = plan.commit.instance.id
            if id(plan.commit) in lost:
                self._cache.forget(instance)
                if isinstance(request, DeliverEvent) and request.chained:
                    # its origin was lost too: planned again, it sends the event again
                    request.future.set_exception(CommitConflict(instance, 1))
                elif id(plan.commit) in created_conflicts:
                    request.future.set_exception(InstanceExists(instance))
                elif isinstance(request, (DeliverEvent, Administer)) and retry_lost(
                        self.store, request, plan.commit, self.max_conflicts):
                    later.append(request)  # planned again on what the other writer committed
                continue
            self.commits += 1
            self._cache.committed(instance, plan.commit.instance, plan.snapshot)
            if plan.logs or plan.wake_effects or plan.next_timer is not None:
                self._after(plan)
            # Watchers hear of a commit before its caller is answered: a watch that starts
            # after a call returned never sees that call's change.
            for listener in self.on_commit:
                try:
                    listener(plan.state)
                except Exception:  # noqa: BLE001 - a broken watcher must not stop commits
                    _log.exception("commit listener failed")
            self._answer(request, plan)
        after_group(self, planned, lost)  # off: ~nothing per group
        if lessee is not None and (handed := handed_to(lessee.owner, planned, lost)):
            lessee.take(handed)

    def _poison(self, request: DeliverEvent, error: str, later: list[Request]) -> None:
        """Keep a timer's or effect's event that cannot be stored as a dead letter.

        Nobody waits on it, and it would fail the same way on every delivery, its instance
        stuck and the worker spinning; see :func:`~statekeeper.runtime.planner.plan_poisoned`.
        """
        _log.error("instance %r: event %r cannot be stored; kept as a dead letter: %s",
                   request.instance, request.event.name, error)
        try:
            record, snapshot = self._cache.read(request.instance)
            plan = plan_poisoned(request, record, snapshot, self.clock.now(), error)
        except BaseException as exc:  # noqa: BLE001 - the worker hears of it, others go on
            request.future.set_exception(exc)
            return
        self._commit([(request, plan)], later, poison=False)

    def _fail(self, planned: list[tuple[Request, Plan]], exc: BaseException) -> None:
        """Nothing of ``planned`` was written: every caller gets ``exc``; forget what was read."""
        for request, _ in planned:
            request.future.set_exception(exc)
        self._cache.clear()

    def _answer(self, request: Request, plan: Plan) -> None:
        if request.future.done():
            return
        if plan.error is not None:
            request.future.set_exception(plan.error)
        else:
            request.future.set_result(plan.state)

    def _after(self, plan: Plan) -> None:
        """A committed step's logs, and the wake-ups of the effect worker and the timers."""
        for entry in plan.logs:
            _log.info("%s: %s: %r", plan.state.id, entry.label or "log", entry.value)
        if plan.wake_effects:
            for wake in self.on_effects:
                wake()
        if plan.next_timer is not None:
            for wake_at in self.on_timer:
                wake_at(plan.next_timer)
