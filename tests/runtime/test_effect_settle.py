"""An effect's outcome reaches the engine with an answer nobody waits on, but that is heard.

Background effect threads used to submit each outcome with a ``concurrent.futures.Future``
that nobody read; a failed commit then vanished.  The outcome's answer is now a flag that logs
a commit that failed (the effect runs again when its lease ends) and stays quiet at close.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future

import pytest

from statekeeper import Chart, Final, State
from statekeeper.client import Client
from statekeeper.core.actions import Effect
from statekeeper.runtime.effect_settle import Unheard
from statekeeper.runtime.errors import EngineClosed
from statekeeper.storage.base import UnknownInstance

WAIT = 30.0  # a bound on waits that only a broken implementation reaches


def test_a_failed_outcome_commit_is_logged_and_a_closed_engine_is_not(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="statekeeper.runtime")
    failed, closed, fine = Unheard("k-failed"), Unheard("k-closed"), Unheard("k-fine")
    assert not (failed.done() or closed.done() or fine.done())
    failed.set_exception(UnknownInstance("i-1"))
    closed.set_exception(EngineClosed())
    assert failed.done() and closed.done()
    assert [r.getMessage() for r in caplog.records if "k-" in r.getMessage()] == [
        "effect k-failed: its outcome was not committed (UnknownInstance: no instance 'i-1'); "
        "the effect runs again when its lease ends"]


def test_background_effects_outcomes_commit_without_anyone_waiting(tmp_path: object) -> None:
    chart = Chart("job", version=1, initial="run", states={
        "run": State(entry=[Effect("work", args={"n": 1})], on={"done.effect.work": "ok"}),
        "ok": Final(),
    })
    ran: list[str] = []
    lock = threading.Lock()

    def work(args: dict[str, int], key: str) -> int:
        with lock:
            ran.append(key)
        return args["n"]

    client = Client(f"sqlite:///{tmp_path}/jobs.db", concurrency=3)
    try:
        client.register(chart, effects={"work": work})
        ids = [f"j-{i}" for i in range(12)]
        for i in ids:
            client.start("job", i)
        for i in ids:
            assert client.when(i, "ok", timeout=WAIT).state == "ok"
        assert len(ran) == len(set(ran)) == 12
        assert all(row.status == "done" for i in ids for row in client.store.effects(i))
    finally:
        client.close()


def test_an_outcome_nobody_waits_on_is_built_with_its_unheard_answer() -> None:
    """The effect threads' outcomes carry an Unheard from the start (no Future made and
    dropped); the outcomes a caller submits still carry a Future."""
    chart = Chart("job", version=1, initial="run", states={
        "run": State(entry=[Effect("work"), Effect("fail")],
                     on={"done.effect.work": "ok"}),
        "ok": Final(),
    })

    def fail(args: object, key: str) -> None:
        raise RuntimeError("no")

    with Client("memory://", worker=False) as client:
        client.register(chart, effects={"work": lambda args, key: {"ok": True}, "fail": fail})
        client.start("job", "j-1")
        claimed = client.store.claim_effects(client.worker.owner, client.clock.now(), 30.0)
        assert sorted(e.name for e in claimed) == ["fail", "work"]
        for effect in claimed:
            unheard = client.worker._effect_outcome(effect, heard=False)
            heard = client.worker._effect_outcome(effect)
            assert unheard is not None and heard is not None
            assert isinstance(unheard.future, Unheard) and unheard.future.key == effect.key
            assert isinstance(heard.future, Future)
            assert unheard.event.name == heard.event.name == (
                "done.effect.work" if effect.name == "work" else "error.effect.fail")
        assert client.engine.submit(heard).result(WAIT).state in ("run", "ok")
