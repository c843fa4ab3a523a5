"""Clients of durable instances: :class:`Client` and its asyncio twin :class:`AsyncClient`.

Both are thin: every decision lives in :class:`_BaseClient` and the runtime; the twins differ
only in how they wait.  An embedded client (the default) also runs the engine and a worker in
background threads, so one process with one SQLite file is a complete deployment.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from ..clock import Clock, SystemClock
from ..core._records import positional_constructor
from ..core.compile import CompiledChart
from ..core.events import Event
from ..core.model import Chart
from ..resilience import Breaker
from ..runtime import dead_letters
from ..runtime.effects import AttemptHook
from ..runtime.engine import Engine
from ..runtime.registry import Registry
from ..runtime.requests import Answer, DeliverEvent, StartInstance
from ..runtime.state import InstanceState
from ..runtime.watch import Watch
from ..runtime.worker import Worker
from ..storage.base import Store
from ..storage.records import DeadLetterRecord, TransitionRecord
from ._waker import LoopWaker

__all__ = ["AsyncClient", "Client", "open_store"]

# every field, positionally (name data type sendid origin origintype invokeid meta): one per send
_new_event = positional_constructor(Event)

_T = TypeVar("_T")


def open_store(url: str | Path, **options: Any) -> Store:
    """Open a store from a URL: ``sqlite:///path/to.db``, a plain path, or ``memory://``."""
    text = str(url)
    if text.startswith("memory:"):
        from ..storage.memory import MemoryStore

        return MemoryStore()
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///"):]
    elif text.startswith("sqlite://"):
        text = text[len("sqlite://"):]
    elif "://" in text:
        raise ValueError(f"unsupported store URL {url!r} (use sqlite:///file.db or memory://)")
    from ..storage.sqlite import SQLiteStore

    return SQLiteStore(text, **options)


class _BaseClient:
    """Everything the twins share: the store, the registry, the engine and the worker."""

    def __init__(self, store: Store | str | Path, *, clock: Clock | None = None,
                 worker: bool = True, lease: float = 30.0, concurrency: int = 8,
                 late_policy: str = "fire_late", late_tolerance: float = 1.0,
                 breakers: Mapping[str, Breaker] | None = None,
                 hooks: Sequence[AttemptHook] = (), rng: random.Random | None = None) -> None:
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
            late_policy: ``"fire_late"`` or ``"skip"`` for timers found overdue after downtime
                whose chart states no ``late`` policy of its own (a stated one wins).
            late_tolerance: seconds of lateness that still count as on time.
            breakers: circuit breaker settings by the names charts use; their state is shared
                through the store with every other worker.
            hooks: called with every effect attempt started and finished.
            rng: the random source of retry jitter (seed one for reproducible schedules).

        """
        self.store = open_store(store) if isinstance(store, (str, Path)) else store
        self.store.migrate()
        self.clock: Clock = clock or SystemClock()
        self.registry = Registry()
        self.engine = Engine(self.store, self.registry, self.clock)
        self.engine.start()
        self.worker = Worker(self.engine, lease=lease, concurrency=concurrency,
                             late_policy=late_policy, late_tolerance=late_tolerance,
                             breakers=breakers, hooks=hooks, rng=rng)
        self._watchers: list[Callable[[InstanceState], None]] = []
        self.engine.on_commit.append(self._notify)
        if worker:
            self.worker.start()

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
               data: Mapping[str, Any] | None, labels: Mapping[str, str] | None
               ) -> Future[InstanceState]:
        if not isinstance(instance_id, str) or not instance_id:
            raise ValueError("an instance id must be a non-empty string")
        name = chart if isinstance(chart, str) else chart.name
        return self.engine.submit(StartInstance(name, instance_id, dict(data or {}),
                                                dict(labels or {})))

    def _delivery(self, instance_id: str, event: str | Event, data: Any,
                  idempotency_key: str | None, actor: str | None,
                  trace_id: str | None, answer: Answer | None = None) -> DeliverEvent:
        if isinstance(event, Event):
            ev = event
        elif isinstance(event, str):
            ev = _new_event(event, data, "external", None, None, None, None, {})
        else:
            raise TypeError(f"an event is a name (str) or an Event, not {event!r}")
        if not ev.name or ev.name.startswith("statekeeper."):
            raise ValueError(f"{ev.name!r} is not an event a caller may send")
        if answer is None:
            return DeliverEvent(instance_id, ev, True, idempotency_key, actor, trace_id)
        return DeliverEvent(instance_id, ev, True, idempotency_key, actor, trace_id,
                            future=answer)

    def _send(self, instance_id: str, event: str | Event, data: Any, idempotency_key: str | None,
              actor: str | None, trace_id: str | None) -> Future[InstanceState]:
        return self.engine.submit(self._delivery(instance_id, event, data, idempotency_key,
                                                 actor, trace_id))

    def _get(self, instance_id: str) -> InstanceState:
        return InstanceState.from_record(self.store.load(instance_id))

    def _query(self, chart: str | None, state: str | None, labels: Mapping[str, str] | None,
               status: str | None, limit: int) -> list[InstanceState]:
        records = self.store.query(chart=chart, state=state, labels=labels, status=status,
                                   limit=limit)
        return [InstanceState.from_record(r) for r in records]

    def _notify(self, state: InstanceState) -> None:
        if self._watchers:  # once per commit: nothing to copy when nobody watches
            # each watcher gets its own copy: the caller's answer is ``state`` itself, and
            # one reader editing what it was handed must not change what another reads
            for watcher in list(self._watchers):
                watcher(state.copy())

    def _close(self) -> None:
        self.worker.close()
        self.engine.close()
        self.store.close()


class Client(_BaseClient):
    """Durable instances of registered charts, for synchronous code.

    Example::

        client = Client("sqlite:///orders.db")
        client.register(order_chart, guards=..., effects={"charge": charge_card})
        client.start("order", "o-1", data={"total": 42})
        client.send("o-1", "accept", idempotency_key="req-7")   # the settled state
    """

    def start(self, chart: str | Chart | CompiledChart, instance_id: str,
              data: Mapping[str, Any] | None = None,
              labels: Mapping[str, str] | None = None) -> InstanceState:
        """Create an instance and run it to its first stable configuration (committed).

        Raises:
            InstanceExists: an instance with that id exists.
            UnknownChart: no chart of that name is registered.

        """
        return self._start(chart, instance_id, data, labels).result()

    def send(self, instance_id: str, event: str | Event, data: Any = None, *,
             idempotency_key: str | None = None, actor: str | None = None,
             trace_id: str | None = None, wait: bool = True) -> Any:
        """Deliver an event; return the settled state once it is committed.

        With ``wait=False`` return a :class:`concurrent.futures.Future` of it instead.  A
        repeated ``idempotency_key`` returns the first result (``outcome="duplicate"``) and
        changes nothing.

        Raises:
            UnknownInstance: no such instance.
            EventNotAccepted: the configuration does not accept the event (recorded in the
                history as rejected; the state is unchanged).
            MachineFinished: the instance already finished.

        """
        future = self._send(instance_id, event, data, idempotency_key, actor, trace_id)
        return future.result() if wait else future

    def get(self, instance_id: str) -> InstanceState:
        """The instance's committed state.  Raises :class:`UnknownInstance`."""
        return self._get(instance_id)

    def history(self, instance_id: str, *, limit: int | None = None,
                after: int = 0) -> list[TransitionRecord]:
        """The instance's transition log, oldest first (rejected events included).

        ``after=seq`` returns only the rows after that one (an answer's ``rev`` is the ``seq``
        of the row its step wrote), for reading a log as it grows.
        """
        self.store.load(instance_id)
        return self.store.history(instance_id, limit=limit, after=after)

    def query(self, *, chart: str | None = None, state: str | None = None,
              labels: Mapping[str, str] | None = None, status: str | None = None,
              limit: int = 100) -> list[InstanceState]:
        """Instances by chart, active state, labels and status."""
        return self._query(chart, state, labels, status, limit)

    def watch(self, instance_id: str | None = None, *,
              timeout: float | None = None) -> Watch:
        """Iterate committed changes (of one instance, or of all) as they commit.

        The subscription starts now; iteration blocks for the next change and ends after
        ``timeout`` seconds without one.  Use it in a ``with`` block (or call ``close()``)::

            with client.watch("o-1") as changes:
                for state in changes:
                    print(state.configuration)
        """
        return Watch(self._watchers, instance_id, timeout)

    def when(self, instance_id: str, state: str, *, timeout: float | None = None) -> InstanceState:
        """Block until ``state`` is active in the instance (or raise ``TimeoutError``)."""
        reached = threading.Event()

        def check(changed: InstanceState) -> None:
            if changed.id == instance_id and changed.is_active(state):
                reached.set()

        self._watchers.append(check)
        try:
            current = self.get(instance_id)
            if current.is_active(state):
                return current
            if not reached.wait(timeout):
                raise TimeoutError(f"{instance_id!r} did not reach {state!r} in {timeout}s")
            return self.get(instance_id)
        finally:
            self._watchers.remove(check)

    def dead_letters(self, instance_id: str | None = None) -> list[DeadLetterRecord]:
        """Effects that exhausted their policy and undeliverable events, oldest first."""
        return self.store.dead_letters(instance_id)

    def dead_letter(self, letter_id: int) -> DeadLetterRecord:
        """One dead letter with its error history.  Raises :class:`UnknownDeadLetter`."""
        return dead_letters.find(self.engine, letter_id)

    def replay_dead_letter(self, letter_id: int, *, actor: str | None = None) -> InstanceState:
        """Run a dead effect again, or deliver a dead event; logged with ``actor``.

        The effect keeps its idempotency key and gets its whole policy again.
        """
        return dead_letters.replay(self.engine, letter_id, actor).result()

    def discard_dead_letter(self, letter_id: int, *, actor: str | None = None) -> None:
        """Drop a dead letter for good; logged in the instance's history with ``actor``."""
        done = dead_letters.discard(self.engine, letter_id, actor)
        if done is not None:
            done.result()

    def close(self) -> None:
        """Finish queued work and stop the engine and worker threads."""
        self._close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_BaseClient):
    """The asyncio twin of :class:`Client`: the same methods, awaited."""

    _wakers: dict[asyncio.AbstractEventLoop, LoopWaker]

    def _waker(self) -> LoopWaker:
        """The running loop's waker (one per loop this client is used from)."""
        loop = asyncio.get_running_loop()
        try:
            wakers = self._wakers
        except AttributeError:
            wakers = self._wakers = {}
        waker = wakers.get(loop)
        if waker is None:
            waker = wakers[loop] = LoopWaker(loop, self.engine.after_answers)
        return waker

    def _wrap(self, future: Future[_T]) -> asyncio.Future[_T]:
        """The engine's answer as a future of the running loop (wake-ups coalesced)."""
        return self._waker().wrap(future)

    async def start(self, chart: str | Chart | CompiledChart, instance_id: str,
                    data: Mapping[str, Any] | None = None,
                    labels: Mapping[str, str] | None = None) -> InstanceState:
        return await self._wrap(self._start(chart, instance_id, data, labels))

    async def send(self, instance_id: str, event: str | Event, data: Any = None, *,
                   idempotency_key: str | None = None, actor: str | None = None,
                   trace_id: str | None = None, wait: bool = True) -> Any:
        if not wait:
            return self._wrap(self._send(instance_id, event, data, idempotency_key, actor,
                                         trace_id))
        answer = self._waker().answer()  # straight to this loop: no Future in between
        self.engine.post(self._delivery(instance_id, event, data, idempotency_key, actor,
                                        trace_id, answer))
        return await answer.waiter

    async def get(self, instance_id: str) -> InstanceState:
        return await asyncio.to_thread(self._get, instance_id)

    async def history(self, instance_id: str, *, limit: int | None = None,
                      after: int = 0) -> list[TransitionRecord]:
        await asyncio.to_thread(self.store.load, instance_id)
        return await asyncio.to_thread(self.store.history, instance_id, limit=limit,
                                       after=after)

    async def query(self, *, chart: str | None = None, state: str | None = None,
                    labels: Mapping[str, str] | None = None, status: str | None = None,
                    limit: int = 100) -> list[InstanceState]:
        return await asyncio.to_thread(self._query, chart, state, labels, status, limit)

    async def watch(self, instance_id: str | None = None) -> AsyncIterator[InstanceState]:
        """Yield every committed change (of one instance, or of all), as it commits."""
        changes, stop = self._subscribe(instance_id)
        try:
            while True:
                yield await changes.get()
        finally:
            stop()

    async def when(self, instance_id: str, state: str) -> InstanceState:
        """Wait until ``state`` is active in the instance."""
        changes, stop = self._subscribe(instance_id)  # before reading: no change is missed
        try:
            current = await self.get(instance_id)
            while not current.is_active(state):
                current = await changes.get()
            return current
        finally:
            stop()

    def _subscribe(self, instance_id: str | None
                   ) -> tuple[asyncio.Queue[InstanceState], Callable[[], None]]:
        loop = asyncio.get_running_loop()
        changes: asyncio.Queue[InstanceState] = asyncio.Queue()

        def push(state: InstanceState) -> None:
            if instance_id is None or state.id == instance_id:
                loop.call_soon_threadsafe(changes.put_nowait, state)

        self._watchers.append(push)
        return changes, lambda: self._watchers.remove(push)

    async def dead_letters(self, instance_id: str | None = None) -> list[DeadLetterRecord]:
        return await asyncio.to_thread(self.store.dead_letters, instance_id)

    async def dead_letter(self, letter_id: int) -> DeadLetterRecord:
        return await asyncio.to_thread(dead_letters.find, self.engine, letter_id)

    async def replay_dead_letter(self, letter_id: int, *,
                                 actor: str | None = None) -> InstanceState:
        future = await asyncio.to_thread(dead_letters.replay, self.engine, letter_id, actor)
        return await self._wrap(future)

    async def discard_dead_letter(self, letter_id: int, *, actor: str | None = None) -> None:
        done = await asyncio.to_thread(dead_letters.discard, self.engine, letter_id, actor)
        if done is not None:
            await self._wrap(done)

    async def close(self) -> None:
        await asyncio.to_thread(self._close)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
