"""resile's simple shape, durable: a state, its data and one transition function, in the store.

:class:`~statekeeper.machine.ResilientMachine` keeps its retries in memory.  This twin keeps
the machine in a store and runs every ``handle(event)`` as a *resilient transition* of a small
chart: the attempt is an outbox row, the backoff a time in the store, the breaker shared with
every worker.  A crash during a backoff resumes the schedule; a machine opened again with the
same id continues from its committed state; every handled event is in the transition log.

State and data must be JSON-able (they are stored as JSON).  Handle one event at a time per
machine: each attempt sees the state committed before the event.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ..clock import VirtualClock
from ..core.actions import Call, Effect
from ..core.model import Chart, State, Transition
from ..resilience import Retry
from ..resilience.errors import BreakerOpen, RetriesExhausted
from ..runtime.state import InstanceState
from ..storage.base import InstanceExists
from ..storage.records import TransitionRecord
from . import Client

__all__ = ["DurableResilientMachine"]

D = TypeVar("D")
_WORK = "transition"


class DurableResilientMachine(Generic[D]):
    """A durable ``(state, data)`` moved by ``fn(state, data, event, attempt)``.

    Args:
        client: where the machine lives (its store, engine and worker).
        machine_id: the instance id; opening an existing id continues it (``initial`` and
            ``data`` are then ignored).
        initial, data: the starting state and data of a new machine.
        transition: ``fn(state, data, event, attempt) -> (state, data)``; raise to fail.
        name: the chart name machines of this function share (one function per name).
        retry: the retry policy (default: 3 attempts, full jitter).
        timeout: per-attempt timeout (``"5s"``, seconds).
        breaker: the name of a breaker shared through the store (configure it on the client).

    """

    def __init__(self, client: Client, machine_id: str, initial: str, data: D,
                 transition: Callable[[str, D, Any, int], tuple[str, D]], *,
                 name: str = "resilient", retry: Retry | None = None,
                 timeout: str | float | None = None, breaker: str | None = None) -> None:
        if not initial:
            raise ValueError("a resilient machine needs an initial state")
        self.client = client
        self.id = machine_id
        self.transition = transition
        self.work = f"{name}.{_WORK}"
        work = Effect(self.work, argsexpr="request", retry=retry or Retry(), timeout=timeout,
                      breaker=breaker)
        on: dict[str, Any] = {"handle": Transition("ready", work=work, actions=[Call("apply")])}
        if breaker is not None:
            on[f"blocked.effect.{self.work}"] = Transition(None)  # told, and handle() raises
        chart = Chart(f"statekeeper.resilient.{name}", version=1, initial="ready",
                      states={"ready": State(on=on)})
        self.chart = client.register(chart, effects={self.work: self._attempt},
                                     functions={"request": _request, "apply": _apply})
        with contextlib.suppress(InstanceExists):  # an existing machine continues as committed
            client.start(self.chart.name, machine_id, data={"state": initial, "data": data})

    @property
    def state(self) -> str:
        return str(self._current().data["state"])

    @property
    def data(self) -> D:
        value: D = self._current().data["data"]
        return value

    def handle(self, event: Any, *, timeout: float | None = None) -> tuple[str, D]:
        """Run the transition for ``event`` under the policy; return the new ``(state, data)``.

        Waits for the outcome.  With a :class:`~statekeeper.VirtualClock` and no background
        worker, drives the worker and the clock itself (backoffs pass instantly).

        Raises:
            RetriesExhausted: every allowed attempt failed (state and data unchanged).
            BreakerOpen: the shared breaker is open (state and data unchanged).
            TimeoutError: no outcome within ``timeout`` seconds of real time.

        """
        changed = threading.Event()

        def watch(state: InstanceState) -> None:
            if state.id == self.id:
                changed.set()

        self.client._watchers.append(watch)
        try:
            sent = self.client.send(self.id, "handle", {"event": event})
            while True:
                changed.clear()  # before looking: a commit after the look still wakes us
                outcome = self._outcome(sent.rev)
                if outcome is not None:
                    return self._answer(outcome)
                if not self._drive() and not changed.wait(timeout):
                    raise TimeoutError(f"{self.id!r}: no outcome for {event!r} within {timeout}s")
        finally:
            self.client._watchers.remove(watch)

    # -- internals -------------------------------------------------------------------------------

    def _current(self) -> InstanceState:
        return self.client.get(self.id)

    def _outcome(self, after: int) -> TransitionRecord | None:
        names = {f"{kind}.effect.{self.work}" for kind in ("done", "error", "blocked")}
        for row in self.client.history(self.id, after=after):
            if row.event in names:
                return row
        return None

    def _answer(self, row: TransitionRecord) -> tuple[str, D]:
        if row.event.startswith("done."):
            current = self._current()
            return str(current.data["state"]), current.data["data"]
        if row.event.startswith("blocked."):
            raise BreakerOpen(str(row.data.get("reason")), row.data.get("retry_at"))
        raise RetriesExhausted(self.work, int(row.data["attempts"]), str(row.data["reason"]),
                               list(row.data["errors"]))

    def _drive(self) -> bool:
        """With no background worker on a virtual clock: run due work, or jump to it."""
        worker, clock = self.client.worker, self.client.clock
        if worker._running or not isinstance(clock, VirtualClock):
            return False
        if worker.run_until_idle():
            return True
        due = [e.available_at for e in self.client.store.effects(self.id, "pending")]
        if not due:
            raise RuntimeError(f"{self.id!r}: nothing is pending and no outcome was recorded")
        clock.advance(max(0.0, min(due) - clock.now()))
        return True

    def _attempt(self, args: dict[str, Any], key: str, attempt: int = 1) -> dict[str, Any]:
        state, data = self.transition(args["state"], args["data"], args["event"], attempt)
        return {"state": state, "data": data}


def _request(data: dict[str, Any], event: Any) -> dict[str, Any]:
    return {"state": data["state"], "data": data["data"], "event": event.data["event"]}


def _apply(data: dict[str, Any], event: Any) -> dict[str, Any]:
    return {**data, "state": event.data["state"], "data": event.data["data"]}
