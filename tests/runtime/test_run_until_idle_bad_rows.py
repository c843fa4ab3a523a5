"""``run_until_idle`` returns when a due timer cannot fire, and the other timers still fire.

A second probe of issue 15: a timer whose instance row is corrupted (or gone) failed on every
round and was counted as work done, so ``run_until_idle`` spun 10,000 rounds and raised a bare
``RuntimeError`` ("a timer or effect loop?"); the background scan already logged such a timer
and retried it later.  Now a timer that did not fire is not counted, and is logged.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from statekeeper import Chart, State, VirtualClock
from statekeeper.client import Client

NAP = Chart("nap", version=1, initial="asleep", states={
    "asleep": State(after={"5m": "awake"}), "awake": State(on={"sleep": "asleep"})})


@pytest.mark.parametrize("damage", [
    "UPDATE instances SET snapshot = '{broken' WHERE id = 'n-1'",
    "UPDATE timers SET instance = 'ghost' WHERE instance = 'n-1'",
])
def test_a_timer_that_cannot_fire_does_not_stall_run_until_idle(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str) -> None:
    path = tmp_path / "naps.db"
    clock = VirtualClock(1_000.0)
    with Client(path, clock=clock, worker=False) as client:
        client.register(NAP)
        for iid in ("n-1", "n-2", "n-3"):
            client.start("nap", iid)
    raw = sqlite3.connect(path)
    with raw:
        raw.execute(damage)
    raw.close()
    clock.advance(301)
    with Client(path, clock=clock, worker=False) as client, \
            caplog.at_level(logging.WARNING, logger="statekeeper.runtime"):
        client.register(NAP)
        assert client.worker.run_until_idle() == 2  # the two sound timers fired
        assert client.get("n-2").state == client.get("n-3").state == "awake"
        assert client.worker.run_until_idle() == 0  # and the bad one is not "work"
        assert client.worker.run_until_idle() == 0
    said = [r for r in caplog.records if "not fired" in r.getMessage()]
    # said once at WARNING, not on every later scan (a bad row would flood the log all day)
    assert len([r for r in said if r.levelno == logging.WARNING]) == 1, said
