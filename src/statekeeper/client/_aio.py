"""The asyncio client: :class:`AsyncClient`, the same methods as :class:`Client`, awaited."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import Future
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from ..core.compile import CompiledChart
from ..core.events import Event
from ..core.model import Chart
from ..runtime import dead_letters
from ..runtime.authz import Principal
from ..runtime.envelopes import Envelope, EnvelopeVerifier
from ..runtime.errors import EngineClosed
from ..runtime.migrate import MigrationRun
from ..runtime.retention import PruneReport
from ..runtime.state import InstanceState
from ..storage.records import DeadLetterRecord, TransitionRecord
from ._audit import AuditPage, Time
from ._base import _BaseClient, check_text, check_wait, check_wait_flag
from ._page import QueryPage
from ._privacy import REFUSALS
from ._waker import LoopAnswer, LoopWaker

__all__ = ["AsyncClient"]

_T = TypeVar("_T")


class AsyncClient(_BaseClient):
    """The asyncio twin of :class:`Client`: the same methods, awaited."""

    _wakers: dict[asyncio.AbstractEventLoop, LoopWaker]
    #: the waker used last: the one of the running loop, nearly always (no lookup per send)
    _last_waker: LoopWaker | None = None

    def _waker(self) -> LoopWaker:
        """The running loop's waker (one per loop this client is used from)."""
        loop = asyncio.get_running_loop()
        waker = self._last_waker
        if waker is not None and waker.loop is loop:
            return waker
        try:
            wakers = self._wakers
        except AttributeError:
            wakers = self._wakers = {}
        waker = wakers.get(loop)
        if waker is None:
            waker = wakers[loop] = LoopWaker(loop, self.engine.after_answers)
        self._last_waker = waker
        return waker

    def _wrap(self, future: Future[_T]) -> asyncio.Future[_T]:
        """The engine's answer as a future of the running loop (wake-ups coalesced)."""
        return self._waker().wrap(future)

    async def start(self, chart: str | Chart | CompiledChart, instance_id: str,
                    data: Mapping[str, Any] | None = None,
                    labels: Mapping[str, str] | None = None, *,
                    version: int | str | None = None,
                    principal: Principal | None = None,
                    traceparent: str | None = None) -> InstanceState:
        waker = self._waker()
        waiter = waker.loop.create_future()  # answered with the turn's group, as a send is
        waker.send_soon(self._start_request(chart, instance_id, data, labels, version,
                                            principal, traceparent, LoopAnswer(waker, waiter)),
                        self.engine.post_many)
        return await waiter  # type: ignore[no-any-return]

    async def send(self, instance_id: str, event: str | Event, data: Any = None, *,
                   idempotency_key: str | None = None, actor: str | None = None,
                   trace_id: str | None = None, wait: bool = True,
                   principal: Principal | None = None, traceparent: str | None = None) -> Any:
        if wait is not True and wait is not False:
            check_wait_flag(wait)
        reader = self.principal if principal is None else principal
        if not wait:
            future = self._send(instance_id, event, data, idempotency_key, actor, trace_id,
                                principal, traceparent)
            return self._wrap(future if reader is None
                              else self._shown_later(future, reader, instance_id))
        waker = self._waker()
        waiter = waker.loop.create_future()  # the answer goes straight to it: no Future between
        waker.send_soon(self._delivery(instance_id, event, data, idempotency_key, actor,
                                       trace_id, LoopAnswer(waker, waiter), principal,
                                       traceparent),
                        self.engine.post_many)
        if reader is None:
            return await waiter
        try:
            return self._shown(await waiter, reader)
        except REFUSALS as exc:
            shown = await asyncio.to_thread(self._shown_refusal, exc, instance_id, reader)
            if shown is exc:
                raise
        raise shown  # outside the handler: the error naming the hidden states is not chained

    async def receive(self, envelope: Envelope | bytes | str, *, verifier: EnvelopeVerifier,
                      principal: Principal | None = None,
                      trace_id: str | None = None) -> InstanceState:
        """Check an envelope, then send its event (see :meth:`Client.receive`)."""
        checked = self._verified(envelope, verifier)
        with self._refusals(checked):
            return await self.send(  # type: ignore[no-any-return]
                checked.instance, checked.event, checked.data,
                idempotency_key=checked.idempotency_key, trace_id=trace_id,
                principal=principal)

    async def get(self, instance_id: str, *,
                  principal: Principal | None = None) -> InstanceState:
        check_text("get", "instance_id", instance_id,
                   longest=self.limits.max_name_length)
        reader = self._reader(principal)
        state = await asyncio.to_thread(self._get, instance_id)
        return state if reader is None else self._shown(state, reader)

    async def history(self, instance_id: str, *, limit: int | None = None,
                      after: int = 0) -> list[TransitionRecord]:
        # off the loop: for a principal, the check reads the instance (OperatorsOnly)
        await asyncio.to_thread(self._check_history, instance_id, limit, after)
        await asyncio.to_thread(self.store.load, instance_id)
        return await asyncio.to_thread(self.store.history, instance_id, limit=limit,
                                       after=after)

    async def audit(self, *, instance: str | None = None, chart: str | None = None,
                    actor: str | None = None, event: str | None = None,
                    state: str | None = None, outcome: str | None = None,
                    since: Time | None = None, until: Time | None = None, limit: int = 100,
                    after: str | None = None) -> AuditPage:
        """Transition rows of every instance that pass every filter (see ``Client.audit``)."""
        return await asyncio.to_thread(
            partial(self._audit, instance=instance, chart=chart, actor=actor, event=event,
                    state=state, outcome=outcome, since=since, until=until, limit=limit,
                    after=after))

    async def prune_audit(self, *, older_than: str | float | timedelta,
                          archive: str | os.PathLike[str]) -> PruneReport:
        """Archive, then delete, the log rows older than ``older_than`` (see ``Client``)."""
        return await asyncio.to_thread(self._prune, older_than, archive)

    async def query(self, *, chart: str | None = None, state: str | None = None,
                    labels: Mapping[str, str] | None = None, status: str | None = None,
                    limit: int = 100, after: str | None = None,
                    principal: Principal | None = None) -> QueryPage:
        """Instances by chart, active state, labels and status, in id order (see ``Client``)."""
        return await asyncio.to_thread(self._shown_query, self._reader(principal), chart,
                                       state, labels, status, limit, after)

    def watch(self, instance_id: str | None = None, *, timeout: float | None = None,
              principal: Principal | None = None) -> AsyncIterator[InstanceState]:
        """Yield every committed change (of one instance, or of all), as it commits.

        The subscription starts when iteration does.  The iteration ends when the client is
        closed, or after ``timeout`` seconds without a change.  Each change is what
        ``principal`` (or the client's default) may read of it.

        Raises:
            ValueError: ``timeout`` is not a number of seconds >= 0 (or None).

        """
        check_text("watch", "instance_id", instance_id, optional=True,
                   longest=self.limits.max_name_length)
        check_wait("watch", timeout)
        return self._watch(instance_id, timeout, self._reader(principal))

    async def _watch(self, instance_id: str | None, timeout: float | None,
                     reader: Principal | None = None) -> AsyncIterator[InstanceState]:
        changes, stop = self._subscribe(instance_id)
        try:
            while True:
                try:
                    change = await asyncio.wait_for(changes.get(), timeout)
                except TimeoutError:
                    return
                if change is None:  # the client closed
                    return
                yield change if reader is None else self._shown(change, reader)
        finally:
            stop()

    async def when(self, instance_id: str, state: str, *,
                   timeout: float | None = None) -> InstanceState:
        """Wait until ``state`` is active in the instance (or raise ``TimeoutError``).

        Raises:
            UnknownState: the instance's chart has no such state (a KeyError).
            EngineClosed: the client was closed while waiting.
            UnknownInstance: there is no such instance.
            OperatorsOnly: the client reads for a principal who may not see ``state``.
            ValueError: ``timeout`` is not a number of seconds >= 0 (or None).

        """
        check_text("when", "instance_id", instance_id,
                   longest=self.limits.max_name_length)
        check_text("when", "state", state,
                   longest=self.limits.max_name_length)
        check_wait("when", timeout)
        changes, stop = self._subscribe(instance_id)  # before reading: no change is missed
        try:
            current = await self.get(instance_id)
            self._check_state(current, state)
            await asyncio.to_thread(self._check_watchable, current, state)
            if current.is_active(state):  # at once, whatever the timeout
                return current

            async def reached(current: InstanceState) -> InstanceState:
                while not current.is_active(state):
                    change = await changes.get()
                    if change is None:
                        raise EngineClosed
                    current = change
                return current

            try:
                return await asyncio.wait_for(reached(current), timeout)
            except TimeoutError:
                raise TimeoutError(f"{instance_id!r} did not reach {state!r} in {timeout}s"
                                   ) from None
        finally:
            stop()

    def _subscribe(self, instance_id: str | None
                   ) -> tuple[asyncio.Queue[InstanceState | None], Callable[[], None]]:
        """A queue of this loop that gets every committed change, then ``None`` at close."""
        loop = asyncio.get_running_loop()
        changes: asyncio.Queue[InstanceState | None] = asyncio.Queue()

        def push(state: InstanceState) -> None:
            if instance_id is None or state.id == instance_id:
                loop.call_soon_threadsafe(changes.put_nowait, state)

        def closing() -> None:
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
                loop.call_soon_threadsafe(changes.put_nowait, None)

        self._watchers.append(push)
        self._closers.append(closing)

        def stop() -> None:
            self._watchers.remove(push)
            self._closers.remove(closing)

        return changes, stop

    async def migrate(self, chart: str | Chart | CompiledChart, to_version: int | str, *,
                      dry_run: bool = True, batch: int = 500, actor: str | None = None,
                      progress: Callable[[int, int], None] | None = None,
                      lazy: bool = False) -> MigrationRun:
        return await asyncio.to_thread(self._migrate, chart, to_version, dry_run, batch, actor,
                                       progress, lazy)

    async def shadow_report(self, chart: str, *, latest: int = 10) -> str:
        return await asyncio.to_thread(self._shadow_report, chart, latest)

    async def clear_shadow_log(self, chart: str) -> int:
        return await asyncio.to_thread(self._clear_shadow_log, chart)

    async def dead_letters(self, instance_id: str | None = None) -> list[DeadLetterRecord]:
        check_text("dead_letters", "instance_id", instance_id, optional=True,
                   longest=self.limits.max_name_length)
        self._operators_only("dead_letters")
        return await asyncio.to_thread(self.store.dead_letters, instance_id)

    async def dead_letter(self, letter_id: int) -> DeadLetterRecord:
        self._operators_only("dead_letter")
        return await asyncio.to_thread(dead_letters.find, self.engine, letter_id)

    async def replay_dead_letter(self, letter_id: int, *, actor: str | None = None,
                                 principal: Principal | None = None) -> InstanceState:
        check_text("replay_dead_letter", "actor", actor, optional=True, empty=True,
                   longest=self.limits.max_name_length)
        principal, actor = self._principal(principal, actor)
        future = await asyncio.to_thread(dead_letters.replay, self.engine, letter_id, actor,
                                         principal)
        state = await self._wrap(future)
        return state if principal is None else self._shown(state, principal)

    async def discard_dead_letter(self, letter_id: int, *, actor: str | None = None) -> None:
        check_text("discard_dead_letter", "actor", actor, optional=True, empty=True,
                   longest=self.limits.max_name_length)
        done = await asyncio.to_thread(dead_letters.discard, self.engine, letter_id, actor)
        if done is not None:
            await self._wrap(done)

    async def close(self, timeout: float | None = None) -> None:
        """As :meth:`Client.close`: at most ``timeout`` seconds for running effects.

        Sends made on this loop before the call are handed over first, and answered.
        """
        waker = getattr(self, "_wakers", {}).get(asyncio.get_running_loop())
        if waker is not None:
            waker.flush_outgoing(self.engine.post_many)
        await asyncio.to_thread(self._close, timeout)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
