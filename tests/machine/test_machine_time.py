"""Machines keep time: a timer is due its delay after the step that set it, on every clock.

The first machine a process makes with the default clock used to step at time 0 and then
schedule on the system clock, which is far past every such due time: a five-minute ``after``
fired at once.  That case needs a fresh interpreter, so it runs in a subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

import statekeeper
from statekeeper import Chart, Final, Machine, State, SystemClock, VirtualClock, compile_chart
from statekeeper.machine import AsyncMachine

SRC = Path(statekeeper.__file__).resolve().parent.parent

OFFER = compile_chart(Chart("offer", initial="waiting", states={
    "waiting": State(on={"answer": "answered"}, after={"5m": "expired"}),
    "answered": Final(),
    "expired": Final(),
}))


def _due(machine: Machine | AsyncMachine) -> float:
    (timer,) = machine.snapshot.timers.values()
    due: float = timer["due"]
    return due


def test_the_first_machine_of_a_process_keeps_time_on_the_default_clock() -> None:
    code = (
        "import json, sys, time\n"
        f"sys.path.insert(0, {str(SRC)!r})\n"
        "from statekeeper import Chart, Final, Machine, State\n"
        "chart = Chart('offer', initial='waiting', states={\n"
        "    'waiting': State(on={'answer': 'answered'}, after={'5m': 'expired'}),\n"
        "    'answered': Final(), 'expired': Final()})\n"
        "before = time.time()\n"
        "machine = Machine(chart)\n"
        "(timer,) = machine.snapshot.timers.values()\n"
        "print(json.dumps({'before': before, 'due': timer['due'],\n"
        "                  'configuration': list(machine.configuration)}))\n"
        "machine.close()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["configuration"] == ["waiting"]
    assert found["due"] >= found["before"] + 300


def test_a_system_clock_machine_is_due_its_delay_from_now() -> None:
    before = time.time()
    machine = Machine(OFFER, clock=SystemClock())
    try:
        assert machine.configuration == ("waiting",)
        assert before + 300 <= _due(machine) <= time.time() + 300
    finally:
        machine.close()


def test_each_default_clock_machine_keeps_time() -> None:
    machines = [Machine(OFFER) for _ in range(2)]
    try:
        for machine in machines:
            assert machine.configuration == ("waiting",)
            assert _due(machine) >= time.time() + 299
    finally:
        for machine in machines:
            machine.close()


@pytest.mark.parametrize("start", [0.0, 1_000_000.0])
def test_a_virtual_clock_machine_fires_at_its_due_time(start: float) -> None:
    clock = VirtualClock(start)
    machine = Machine(OFFER, clock=clock)
    assert _due(machine) == start + 300
    clock.advance(299)
    assert machine.configuration == ("waiting",)
    clock.advance(1)
    assert machine.configuration == ("expired",)


def test_an_async_machine_keeps_time_on_the_default_clock() -> None:
    before = time.time()
    machine = AsyncMachine(OFFER)
    try:
        assert machine.configuration == ("waiting",)
        assert _due(machine) >= before + 300
    finally:
        machine.close()
