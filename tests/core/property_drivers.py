"""The drivers the property tests compare: the pure step folded by hand, and the machines.

:class:`~statekeeper.testing.reference.PureDriver` is the reference (it lives in the library,
so the durable runtime's property tests use it too).  The machine drivers
feed the same sequence to :class:`Machine` and :class:`AsyncMachine` and record the same things,
so ``test_properties.py`` can compare any two of them item by item.  The legality checks say what
every configuration of a chart must satisfy, whoever computed it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from statekeeper import (
    AsyncMachine,
    Event,
    EventNotAccepted,
    Machine,
    MachineFinished,
    StepResult,
    VirtualClock,
)
from statekeeper.core.compile import CompiledChart
from statekeeper.core.nodes import FINAL, HISTORY, PARALLEL, ROOT_ID
from statekeeper.machine import Outcome
from statekeeper.testing.reference import SESSION, Advance, Step

# --------------------------------------------------------------------------- machine drivers


@dataclass
class MachineRecord:
    item: Step
    status: str
    snapshot: dict[str, Any]
    outcome: Outcome | None = None


def _sent(item: Event | str) -> tuple[Event | str, Any]:
    """How a caller sends ``item``: a plain event mostly by name and payload, as users do.

    Sent so, a payload goes through the machines' one-pass intake (a flat program's event
    takes it straight to the program); an odd ``x`` keeps the event whole, so the intake of
    an :class:`Event` is compared too.
    """
    if isinstance(item, Event) and item == Event(item.name, item.data) and not (
            isinstance(item.data, dict) and item.data.get("x", 0) % 2):
        return item.name, item.data
    return item, None


def machine_run(machine: Machine, clock: VirtualClock, item: Step) -> MachineRecord:
    if isinstance(item, Advance):
        clock.advance(item.seconds)
        return MachineRecord(item, "advanced", machine.snapshot.to_dict())
    try:
        outcome = machine.send(*_sent(item))
    except EventNotAccepted:
        return MachineRecord(item, "rejected", machine.snapshot.to_dict())
    except MachineFinished:
        return MachineRecord(item, "finished", machine.snapshot.to_dict())
    return MachineRecord(item, outcome.status, machine.snapshot.to_dict(), outcome)


async def async_machine_run(machine: AsyncMachine, clock: VirtualClock, item: Step) -> MachineRecord:
    if isinstance(item, Advance):
        clock.advance(item.seconds)
        return MachineRecord(item, "advanced", machine.snapshot.to_dict())
    try:
        outcome = await machine.send(*_sent(item))
    except EventNotAccepted:
        return MachineRecord(item, "rejected", machine.snapshot.to_dict())
    except MachineFinished:
        return MachineRecord(item, "finished", machine.snapshot.to_dict())
    return MachineRecord(item, outcome.status, machine.snapshot.to_dict(), outcome)


def run_machine(chart: CompiledChart, items: list[Step]) -> list[MachineRecord]:
    clock = VirtualClock()
    machine = Machine(chart, session=SESSION, clock=clock)
    records = [MachineRecord("(start)", "applied", machine.snapshot.to_dict())]
    records += [machine_run(machine, clock, item) for item in items]
    machine.close()
    return records


async def _run_async(chart: CompiledChart, items: list[Step]) -> list[MachineRecord]:
    clock = VirtualClock()
    machine = AsyncMachine(chart, session=SESSION, clock=clock)
    records = [MachineRecord("(start)", "applied", machine.snapshot.to_dict())]
    records += [await async_machine_run(machine, clock, item) for item in items]
    machine.close()
    return records


def run_async_machine(chart: CompiledChart, items: list[Step]) -> list[MachineRecord]:
    return asyncio.run(_run_async(chart, items))


# --------------------------------------------------------------------------- legality


def assert_legal(chart: CompiledChart, configuration: tuple[str, ...], done: bool | None) -> None:
    """SCXML 3.11: a legal configuration, as the step reports it (document order).

    ``done`` (unless ``None``) must say whether a top-level final state is active.
    """
    assert configuration, "empty configuration"
    assert len(set(configuration)) == len(configuration), f"duplicates in {configuration}"
    nodes = [chart.nodes[state] for state in configuration]
    assert configuration == tuple(n.id for n in sorted(nodes)), "not in document order"
    active = set(nodes)
    assert sum(c in active for c in chart.root.children) == 1, (
        f"not exactly one top-level state active: {configuration}")
    for node in nodes:
        assert node.kind != HISTORY, f"history pseudo-state {node.id} is active"
        assert node.parent is not None
        assert node.parent.id == ROOT_ID or node.parent in active, (
            f"{node.id} is active but its parent {node.parent.id} is not: {configuration}")
        children = [c for c in node.children if c in active]
        if node.kind == PARALLEL:
            assert len(children) == len(node.children), (
                f"parallel {node.id} has inactive regions: {configuration}")
        elif node.children:
            assert len(children) == 1, f"compound {node.id} has {len(children)} active children"
        else:
            assert not children
    top_final = any(n.kind == FINAL and n.parent is chart.root for n in nodes)
    assert done is None or done == top_final, f"done={done} but configuration is {configuration}"


def assert_result_legal(chart: CompiledChart, result: StepResult) -> None:
    for micro in result.microsteps:
        assert_legal(chart, micro.configuration, None)
    assert_legal(chart, result.snapshot.configuration, result.snapshot.done)
    if result.microsteps:
        assert result.microsteps[-1].configuration == result.snapshot.configuration
