"""The durable runtime follows the pure step over generated charts and event sequences.

The reference is :class:`~statekeeper.testing.reference.PureDriver`: a fold of the pure
step that carries out timers on a virtual clock and processes the events a chart sends itself
after the current one.  The same sequence goes to an instance of the same chart through a
:class:`~statekeeper.Client` on a real store, with the worker driven by hand: after each event
it runs until idle (a send to self is a timer due now), and time advances from one timer's due
time to the next, as the virtual clock does for a machine.  After every item the instance's
stored snapshot must equal the pure driver's, and its outcome must match.

On SQLite the store is reopened (a new client on the same file) halfway through, so a
restart is part of every sequence.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given

from statekeeper import EventNotAccepted, MachineFinished, VirtualClock
from statekeeper.client import Client
from statekeeper.runtime.rows import snapshot_from_row
from statekeeper.testing.reference import SESSION, Advance, Step, run_pure
from statekeeper.testing.strategies import (
    GeneratedChart,
    chart_runs,
    suite_settings,
)

DURABLE = suite_settings()
Case = tuple[GeneratedChart, list[Step]]


class DurableDriver:
    """One instance of the chart in a store, fed one item at a time."""

    def __init__(self, generated: GeneratedChart, url: str, clock: VirtualClock) -> None:
        self.generated, self.url, self.clock = generated, url, clock
        self.client = self._open()

    def _open(self) -> Client:
        client = Client(self.url, clock=self.clock, worker=False)
        client.register(self.generated.compile())
        return client

    def reopen(self) -> None:
        self.client.close()
        self.client = self._open()

    def start(self) -> None:
        self.client.start(self.generated.chart.name, SESSION)
        self.client.worker.run_until_idle()

    def run(self, item: Step) -> str:
        if isinstance(item, Advance):
            self.advance(item.seconds)
            return "advanced"
        try:
            status = self.client.send(SESSION, item).outcome or "?"
        except EventNotAccepted:
            status = "rejected"
        except MachineFinished:
            status = "finished"
        self.client.worker.run_until_idle()
        return status

    def advance(self, seconds: float) -> None:
        """From one due time to the next, as a virtual clock runs a machine's timers."""
        end = self.clock.now() + seconds
        while (due := self.client.store.next_timer_due()) is not None and due <= end:
            self.clock.advance(max(0.0, due - self.clock.now()))
            self.client.worker.run_until_idle()
        self.clock.advance(end - self.clock.now())

    def snapshot(self) -> dict[str, Any]:
        return snapshot_from_row(self.client.store.load(SESSION)).to_dict()


def check(generated: GeneratedChart, items: list[Step], url: str) -> None:
    pure = run_pure(generated.compile(), items)
    driver = DurableDriver(generated, url, VirtualClock(0.0))
    try:
        driver.start()
        assert driver.snapshot() == pure.start.to_dict(), "after the initial step"
        for n, (item, record) in enumerate(zip(items, pure.records, strict=True)):
            if n == len(items) // 2 and not url.startswith("memory:"):
                driver.reopen()  # a restart: the memory store does not outlive its client
            status = driver.run(item)
            expected = "applied" if record.status == "applied" else record.status
            assert status == expected, f"item {n} ({item!r}): {status} != {expected}"
            assert driver.snapshot() == record.snapshot.to_dict(), f"after item {n} ({item!r})"
        assert driver.client.store.integrity_check() == []
    finally:
        driver.client.close()


@DURABLE
@given(chart_runs())
def test_the_durable_runtime_follows_the_pure_step_in_memory(case: Case) -> None:
    check(*case, "memory://")


@DURABLE
@given(chart_runs())
def test_the_durable_runtime_follows_the_pure_step_on_sqlite(case: Case) -> None:
    with tempfile.TemporaryDirectory() as folder:
        check(*case, f"sqlite:///{Path(folder) / 'prop.db'}")
