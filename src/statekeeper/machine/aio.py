"""The asyncio twin of :class:`~statekeeper.Machine`."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import Callable, Iterable
from typing import Any, Unpack

from ..clock import TimerHandle
from ..core.commands import RunEffect, StartInvoke
from ..core.compile import CompiledChart
from ..core.errors import EventNotAccepted, MachineFinished
from ..core.events import Event
from ..core.migration import Migration
from ..core.model import Chart
from ..core.snapshot import Snapshot
from ._base import BaseMachine, MachineOptions
from ._effect_retry import RETRY_PREFIX, on_failure, retry_later
from ._memo import Outcome
from ._snapshots import routed
from ._step import flat_send

__all__ = ["AsyncMachine", "AsyncioClock"]


class AsyncioClock:
    """Wall-clock time with callbacks scheduled on the running event loop (no threads)."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()

    def now(self) -> float:
        return time.time()

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        handle = TimerHandle(when, callback)
        delay = max(0.0, when - self.now())

        def run() -> None:
            if not handle.cancelled:
                callback()

        self._loop.call_later(delay, run)
        return handle


class AsyncMachine(BaseMachine):
    """A :class:`~statekeeper.Machine` for asyncio code: same decisions, awaited effects.

    Effects may be coroutine functions; ``<invoke type="task">`` runs a coroutine bound to the
    state's lifetime (cancelled when the state is left), and :meth:`when` waits for a state.
    """

    __slots__ = ()

    def __init__(self, chart: CompiledChart | Chart, **options: Unpack[MachineOptions]) -> None:
        if options.get("clock") is None:
            with contextlib.suppress(RuntimeError):
                options["clock"] = AsyncioClock()
        super().__init__(chart, **options)

    async def send(self, event: str | Event, data: Any = None) -> Outcome:
        """Process ``event`` to completion, awaiting the effects it starts.

        Raises:
            ReservedEventName: the name starts with ``statekeeper.`` (timers use it).
            InvalidPayload: ``data`` holds a value JSON cannot hold exactly (its path says
                where); LimitExceeded: it is deeper or larger than the machine's limits.
            EventNotAccepted: nothing in the configuration accepts the event.
            MachineFinished: the machine already finished.

        """
        stepped = None
        if self._x is None and event.__class__ is str:
            if data is None:
                entry = self._cfg.on.get(event)
                if entry is not None:
                    self._cfg = entry[0]
                    return entry[1]
            stepped = flat_send(self, event, data)  # a flat program's event, its intake cut
        if stepped is None:
            ev = self._incoming(event, data)
            if self._x is None:
                # Nothing is waiting (no listener, queue, waiter, child or timer handle): the
                # pure step runs alone, and the extras are made only if its result needs them.
                stepped = self._step(ev, strict=True)
        if stepped is not None:
            result, outcome = stepped
            if result is None or (not result.commands and not self._cfg.done):
                return outcome
        x = self._extras()
        if stepped is None and x.busy:  # (after a step the extras were made just now)
            x.queue.append(ev)
            return Outcome(ev.name, "queued", self._cfg.ids)
        x.busy = True
        try:
            result, outcome = stepped if stepped is not None else self._step(ev, strict=True)
            effects = self._after_step(result) if result is not None else []
            await self._effects(effects)
            await self._drain_async()
        except (EventNotAccepted, MachineFinished):
            x.busy = False
            self._release()  # nothing changed: keep the fast path open
            raise
        finally:
            x.busy = False
        self._wake()
        self._release()
        return outcome

    async def when(self, state: str) -> None:
        """Wait until ``state`` is active (returns at once if it already is)."""
        if state not in self.chart.nodes:
            raise KeyError(f"chart {self.chart.name!r} has no state {state!r}")
        if state in self._cfg.ids:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._extras().waiters.append((state, future))
        await future

    @classmethod
    def from_snapshot(cls, chart: CompiledChart, snapshot: Snapshot | dict[str, Any], *,
                      migrations: Iterable[Migration] | None = None,
                      versions: Iterable[CompiledChart] = (), **kwargs: Any) -> AsyncMachine:
        """Continue an instance from a snapshot, restoring its timers."""
        snap = snapshot if isinstance(snapshot, Snapshot) else Snapshot.from_dict(snapshot)
        snap = routed(chart, snap, migrations, versions, kwargs.get("clock"))
        machine = cls(chart, _snapshot=snap, **kwargs)
        machine._restore_timers(snap)
        return machine

    def _wake(self) -> None:
        x = self._x
        if x is None or not x.waiters:
            return
        keep = []
        for state, future in x.waiters:
            if state in self._cfg.ids and not future.done():
                future.set_result(None)
            elif not future.done():
                keep.append((state, future))
        x.waiters = keep

    def _started(self, effects: list[RunEffect]) -> None:
        for effect in effects:
            self._spawn_effect(effect)
        x = self._x
        if x is not None and x.queue:
            self._pump()  # in queue order: the initial step may have queued several events
        self._release()

    def _deliver(self, event: Event) -> None:
        self._extras().queue.append(event)
        self._pump()

    def _pump(self) -> None:
        """Process queued events unless a step is already running (it will drain them)."""
        x = self._extras()
        if not x.busy:
            x.busy = True
            try:
                while x.queue:
                    result, _ = self._step(x.queue.popleft(), strict=False)
                    if result is not None:
                        for effect in self._after_step(result):
                            self._spawn_effect(effect)
            finally:
                x.busy = False
            self._wake()
            self._release()

    async def _drain_async(self) -> None:
        x = self._extras()
        while x.queue:
            result, _ = self._step(x.queue.popleft(), strict=False)
            if result is not None:
                await self._effects(self._after_step(result))

    async def _effects(self, effects: list[RunEffect]) -> None:
        for effect in effects:
            event = await self._run_effect(effect)
            if event is not None:
                self._extras().queue.append(event)

    async def _run_effect(self, effect: RunEffect, attempt: int = 1,
                          errors: list[str] | None = None) -> Event | None:
        """Run one attempt; ``None`` when a retry was scheduled on the clock instead."""
        fn = self._env.effects[effect.name]
        try:
            value = fn(effect.args, key=effect.key)
            if inspect.isawaitable(value):
                value = await value
        except Exception as exc:  # noqa: BLE001 - the policy and the chart decide
            failure = on_failure(self, effect, attempt, exc, errors or [])
            if failure.delay is not None:
                loop = asyncio.get_running_loop()

                def again() -> None:
                    loop.call_soon_threadsafe(self._start_retry, effect, attempt + 1,
                                              failure.errors)

                retry_later(self, effect, failure.delay, again)
            return failure.event
        return Event(f"done.effect.{effect.name}", value)

    def _start_retry(self, effect: RunEffect, attempt: int, errors: list[str]) -> None:
        """Run the next attempt as a task of this machine (``close()`` cancels it)."""
        tasks = self._extras().tasks
        name = f"{RETRY_PREFIX}{effect.key}"
        task = asyncio.get_running_loop().create_task(self._retry(effect, attempt, errors))
        tasks[name] = task
        task.add_done_callback(lambda done: tasks.pop(name, None) if tasks.get(name) is done
                               else None)

    async def _retry(self, effect: RunEffect, attempt: int, errors: list[str]) -> None:
        event = await self._run_effect(effect, attempt, errors)
        if event is not None:
            self._deliver(event)

    def _spawn_effect(self, effect: RunEffect) -> None:
        async def run() -> None:
            event = await self._run_effect(effect)
            if event is not None:
                self._deliver(event)

        task = asyncio.get_running_loop().create_task(run())
        self._extras().tasks[f"effect:{effect.key}"] = task
        task.add_done_callback(lambda _: self._extras().tasks.pop(f"effect:{effect.key}", None))

    def _start_task(self, command: StartInvoke) -> None:
        fn = self._env.tasks.get(command.src or "")
        invokeid = command.invokeid
        if fn is None:
            self._deliver(Event("error.execution",
                                {"error": f"no task {command.src!r} provided"}, "platform"))
            return

        async def run() -> None:
            try:
                value = fn(command.params)
                if inspect.isawaitable(value):
                    value = await value
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - reported to the chart as an event
                self._deliver(Event(f"error.invoke.{invokeid}", {"error": str(exc)},
                                    "external", invokeid=invokeid))
                return
            self._extras().tasks.pop(invokeid, None)
            self._deliver(Event(f"done.invoke.{invokeid}", value, "external",
                                invokeid=invokeid))

        self._extras().tasks[invokeid] = asyncio.get_running_loop().create_task(run())
