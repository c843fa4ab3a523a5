"""Runs of ``bench durable`` on the data-driven chart, statekeeper's and xstate-statemachine's.

Each run is on a fresh SQLite file and ends with a check: every instance's final leaf and data
are read back from the store and compared with :func:`.durable_chart.expected`, so a library
that dropped, doubled or misapplied an event fails the run instead of looking fast, and the
libraries agree with each other because they agree with one model.

* statekeeper: :class:`~statekeeper.client.AsyncClient` with one task per sender, each
  awaiting ``send(..., wait=True)`` in turn on its own instances (as for the toggle).  The
  clock stops only once the ``settle`` effects the run caused have run and their outcomes
  have committed (each is a step of its own, not counted as a transition), so no work is left
  for after the measurement.
* xstate-statemachine: ``persisted(store, key, machine)`` blocks from threads, one block per
  event, as for the toggle; its ``settle`` runs inline as an action (it has no outbox).
* Starts: new instances created as fast as the senders can, each one durable before the next
  of its sender (statekeeper: ``AsyncClient.start``; xstate-statemachine: an empty
  ``persisted`` block, which creates and saves the initial snapshot).

CPU time (``time.process_time``, every thread of the process) is kept beside wall time.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..client import AsyncClient
from ..runtime.state import InstanceState
from ..storage.sqlite import SQLiteStore
from .durable_chart import (
    BINDINGS,
    CHART_NAME,
    EVENT,
    EVERY,
    LIMIT,
    TIMEOUT_MS,
    Final,
    amount,
    effects_expected,
    expected,
    meter_chart,
    settle,
)
from .durable_statekeeper import instance_ids, synchronous_of

__all__ = [
    "PLAIN",
    "ChartRun",
    "ClientSetup",
    "run_sk_chart",
    "run_sk_starts",
    "run_xstate_chart",
    "run_xstate_starts",
    "xstate_meter",
]


@dataclass
class ChartRun:
    """One timed run: ``units`` (transitions or starts) in ``seconds``, and the CPU it took."""

    senders: int
    units: int
    seconds: float
    cpu: float
    synchronous: str = "?"
    effects: int = 0  # effect outcomes committed besides the units (statekeeper only)

    @property
    def per_s(self) -> float:
        return self.units / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_us(self) -> float:
        """CPU microseconds per unit."""
        return self.cpu / self.units * 1e6 if self.units else 0.0


def _owned(ids: list[str], senders: int, j: int) -> list[tuple[int, str]]:
    """Sender ``j``'s instances (index, id): ``j, j + senders, ...``; no two senders share one."""
    return [(i, ids[i]) for i in range(j, len(ids), senders)]


def _mismatch(library: str, instance: str, found: tuple[str, dict[str, Any]], want: Final) -> str:
    return (f"{library}: {instance!r} ended in {found[0]!r} with {found[1]!r}, "
            f"the model says {want.leaf!r} with {want.data!r}")


# ---------------------------------------------------------------------- statekeeper


class _Commits:
    """Counts the engine's commits; :meth:`wait_for` blocks until ``n`` more have happened."""

    def __init__(self) -> None:
        self.count = 0
        self._goal: int | None = None
        self._reached = threading.Event()

    def __call__(self, state: InstanceState) -> None:  # the engine's thread, after a commit
        self.count += 1
        if self._goal is not None and self.count >= self._goal:
            self._reached.set()

    def expect(self, more: int) -> None:
        self._reached.clear()
        self._goal = self.count + more
        if self.count >= self._goal:
            self._reached.set()

    def wait(self, timeout: float = 120.0) -> None:
        if not self._reached.wait(timeout):
            raise RuntimeError(f"statekeeper: {self._goal} commits expected, {self.count} came")


def _register(client: AsyncClient) -> None:
    client.register(meter_chart(), guards=BINDINGS["guards"], functions=BINDINGS["functions"],
                    effects=BINDINGS["effects"])


async def _send_rounds(client: AsyncClient, ids: list[str], senders: int, rounds: int,
                      send_options: Mapping[str, Any] = MappingProxyType({})) -> int:
    async def sender(j: int) -> int:
        mine = _owned(ids, senders, j)
        for r in range(rounds):
            for i, instance in mine:
                state = await client.send(instance, EVENT, {"amount": amount(i, r)},
                                          **send_options)
                if state.outcome != "applied":
                    raise RuntimeError(f"send to {instance!r} was not applied: {state!r}")
        return rounds * len(mine)

    return sum(await asyncio.gather(*(sender(j) for j in range(senders))))


async def _check_sk(client: AsyncClient, ids: list[str], rounds: int) -> None:
    for i, instance in enumerate(ids):
        state = await client.get(instance)
        found = (state.configuration[-1], dict(state.data))
        want = expected(i, rounds)
        if found != (want.leaf, want.data):
            raise RuntimeError(_mismatch("statekeeper", instance, found, want))


@dataclass(frozen=True)
class ClientSetup:
    """What a run adds to the plain client: its options, a setup call, each send's options.

    ``bench features`` measures the cost of logging, metrics, authorization and tracing
    with these; the plain run of ``bench durable`` uses none.
    """

    options: Mapping[str, Any] = field(default_factory=dict)
    setup: Callable[[AsyncClient], None] | None = None
    send_options: Mapping[str, Any] = field(default_factory=dict)


PLAIN = ClientSetup()


async def _sk_chart(path: Path, instances: int, senders: int, rounds: int,
                    warmup_rounds: int, extra: ClientSetup = PLAIN) -> ChartRun:
    ids, warm = instance_ids(instances, "m"), instance_ids(senders, "w")
    store = SQLiteStore(path)
    client = AsyncClient(store, **extra.options)
    commits = _Commits()
    try:
        _register(client)
        if extra.setup is not None:
            extra.setup(client)
        await asyncio.gather(*(client.start(CHART_NAME, i) for i in ids + warm))
        client.engine.on_commit.append(commits)
        commits.expect(len(warm) * warmup_rounds + effects_expected(len(warm), warmup_rounds))
        await _send_rounds(client, warm, senders, warmup_rounds, extra.send_options)
        await asyncio.to_thread(commits.wait)
        effects = effects_expected(instances, rounds)
        commits.expect(instances * rounds + effects)
        cpu, start = time.process_time(), time.perf_counter()
        applied = await _send_rounds(client, ids, senders, rounds, extra.send_options)
        await asyncio.to_thread(commits.wait)  # and every effect's outcome committed
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        await _check_sk(client, ids, rounds)
        return ChartRun(senders, applied, seconds, cpu, synchronous_of(store), effects)
    finally:
        await client.close()


def run_sk_chart(path: Path, *, instances: int, senders: int, rounds: int,
                 warmup_rounds: int = 4, extra: ClientSetup = PLAIN) -> ChartRun:
    """Statekeeper on the data-driven chart: ``rounds`` adds to each of ``instances``."""
    return asyncio.run(_sk_chart(path, instances, senders, rounds, warmup_rounds, extra))


async def _sk_starts(path: Path, count: int, senders: int, warmup: int) -> ChartRun:
    store = SQLiteStore(path)
    client = AsyncClient(store, worker=False)  # a start of this chart sets no timer, no effect

    async def starter(names: list[str]) -> int:
        for name in names:
            state = await client.start(CHART_NAME, name)
            if state.configuration != ("open", "idle") or state.rev != 1:
                raise RuntimeError(f"statekeeper: start of {name!r} gave {state!r}")
        return len(names)

    async def starts(ids: list[str]) -> int:
        return sum(await asyncio.gather(*(starter(ids[j::senders]) for j in range(senders))))

    try:
        _register(client)
        await starts(instance_ids(warmup, "w"))
        cpu, start = time.process_time(), time.perf_counter()
        started = await starts(instance_ids(count, "s"))
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        return ChartRun(senders, started, seconds, cpu, synchronous_of(store))
    finally:
        await client.close()


def run_sk_starts(path: Path, *, count: int, senders: int, warmup: int = 200) -> ChartRun:
    """Statekeeper starts of the data-driven chart: ``senders`` tasks, ``count`` in all."""
    return asyncio.run(_sk_starts(path, count, senders, warmup))


# ---------------------------------------------------------------------- xstate-statemachine


def _x_accepts(ctx: Any, event: Any) -> bool:
    return bool(event.payload["amount"] > 0 and ctx["total"] < LIMIT)


def _x_due(ctx: Any, event: Any) -> bool:
    return _x_accepts(ctx, event) and ctx["n"] % EVERY == EVERY - 1


def _x_add(interp: Any, ctx: Any, event: Any, action: Any) -> None:
    ctx["n"] += 1
    ctx["total"] += event.payload["amount"]


def _x_settle(interp: Any, ctx: Any, event: Any, action: Any) -> None:
    settle({}, f"{interp.store_key}:{ctx['n']}")  # inline: it has no outbox
    ctx["settled"] += 1


def xstate_meter() -> Any:
    """The same chart as :func:`.durable_chart.meter_chart`, built by xstate-statemachine."""
    from xstate_statemachine import MachineLogic, create_machine

    def to(target: str, guard: str = "accepts") -> dict[str, Any]:
        return {"target": target, "guard": guard, "actions": ["add"]}

    config = {"id": CHART_NAME, "initial": "open",
              "context": {"n": 0, "total": 0, "settled": 0}, "states": {"open": {
                  "initial": "idle", "states": {
                      "idle": {"on": {EVENT: to("busy")}},
                      "busy": {"on": {EVENT: [to("settling", "due"), to("idle")]}},
                      "settling": {"entry": ["settle"], "after": {TIMEOUT_MS: "idle"},
                                   "on": {EVENT: to("busy")}},
                  }}}}  # fmt: skip
    logic: Any = MachineLogic(actions={"add": _x_add, "settle": _x_settle},
                         guards={"accepts": _x_accepts, "due": _x_due})
    return create_machine(config, logic=logic)


def _threads(senders: int, work: Callable[[int], int]) -> tuple[int, float, float]:
    """``work(j)`` in ``senders`` threads at once; the summed results, wall and CPU time."""
    barrier = threading.Barrier(senders + 1)
    results: list[int] = [0] * senders
    errors: list[BaseException] = []

    def run(j: int) -> None:
        barrier.wait()
        try:
            results[j] = work(j)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(j,), name=f"bench-sender-{j}")
               for j in range(senders)]
    for t in threads:
        t.start()
    barrier.wait()
    cpu, start = time.process_time(), time.perf_counter()
    for t in threads:
        t.join()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    if errors:
        raise errors[0]
    return sum(results), seconds, cpu


def _leaf(interp: Any) -> str:
    (leaf,) = [s.rsplit(".", 1)[-1] for s in interp.current_state_ids]
    return str(leaf)


def run_xstate_chart(path: Path, *, full: bool, instances: int, senders: int,
                     rounds: int) -> ChartRun:
    """xstate-statemachine on the data-driven chart: one ``persisted`` block per event."""
    from xstate_statemachine.persistence import persisted

    from .durable_peers import _xstate_synchronous, xstate_store

    machine = xstate_meter()
    store = xstate_store(path, full=full)
    ids = instance_ids(instances, "x")
    try:
        for key in ids:
            with persisted(store, key, machine):
                pass

        def sender(j: int) -> int:
            mine = _owned(ids, senders, j)
            for r in range(rounds):
                for i, key in mine:
                    with persisted(store, key, machine) as interp:
                        interp.send(EVENT, amount=amount(i, r))
            return rounds * len(mine)

        applied, seconds, cpu = _threads(senders, sender)
        for i, key in enumerate(ids):
            with persisted(store, key, machine) as interp:
                found = (_leaf(interp), dict(interp.context))
            want = expected(i, rounds)
            if found != (want.leaf, want.data):
                raise RuntimeError(_mismatch("xstate-statemachine", key, found, want))
        return ChartRun(senders, applied, seconds, cpu, _xstate_synchronous(store))
    finally:
        store.close()


def run_xstate_starts(path: Path, *, full: bool, count: int, senders: int) -> ChartRun:
    """xstate-statemachine starts: an empty ``persisted`` block creates and saves each."""
    from xstate_statemachine.persistence import persisted

    from .durable_peers import _xstate_synchronous, xstate_store

    machine = xstate_meter()
    store = xstate_store(path, full=full)
    ids = instance_ids(count, "x")
    try:
        def starter(j: int) -> int:
            for key in ids[j::senders]:
                with persisted(store, key, machine) as interp:
                    if _leaf(interp) != "idle":
                        raise RuntimeError(f"xstate-statemachine: {key!r} started elsewhere")
            return len(ids[j::senders])

        started, seconds, cpu = _threads(senders, starter)
        if store.load(ids[-1]) is None:
            raise RuntimeError("xstate-statemachine: a started instance was not saved")
        return ChartRun(senders, started, seconds, cpu, _xstate_synchronous(store))
    finally:
        store.close()
