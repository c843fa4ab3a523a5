"""The threads effects run on are kept for the next effect, and still bounded by concurrency.

Before, every effect started a thread of its own; under a stream of effects the start-up cost
more than the effect.  Kept threads must keep what the new ones gave: up to ``concurrency``
effects at once and never more, every effect run, and nothing left behind once closed.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from statekeeper import Chart, Final, State
from statekeeper.client import Client
from statekeeper.core.actions import Effect
from statekeeper.runtime.effect_threads import EffectThreads

WAIT = 30.0  # a bound on waits that only a broken implementation reaches


def _always_open() -> bool:
    return True


def test_kept_threads_run_up_to_concurrency_at_once_and_are_reused() -> None:
    threads = EffectThreads(3)
    together = threading.Barrier(3, timeout=WAIT)  # passes only with three running at once
    names: list[str] = []
    done = threading.Semaphore(0)

    def job() -> None:
        together.wait()
        names.append(threading.current_thread().name)
        done.release()

    try:
        for n in range(3):
            assert threads.take_slot(_always_open)
            threads.start(f"k-{n}", f"statekeeper-effect-job{n}", job)
        for _ in range(3):
            assert done.acquire(timeout=WAIT)
        assert sorted(names) == [f"statekeeper-effect-job{n}" for n in range(3)]
        assert threads.wait(WAIT) == []
        for n in range(3, 9):  # three at a time again: on the same three threads
            assert threads.take_slot(_always_open)
            threads.start(f"k-{n}", "statekeeper-effect-job", job)
        for _ in range(6):
            assert done.acquire(timeout=WAIT)
        assert threads.started == 3
    finally:
        threads.stop()


def test_a_stream_of_short_effects_never_starts_more_threads_than_slots() -> None:
    """A thread that finished an effect counts as free before it gives its slot back, so the
    next effect, in that slot, does not start a thread of its own (a race, seldom hit)."""
    threads = EffectThreads(2)
    done = threading.Semaphore(0)
    try:
        for n in range(300):
            assert threads.take_slot(_always_open)
            threads.start(f"k-{n}", "statekeeper-effect-job", done.release)
        for _ in range(300):
            assert done.acquire(timeout=WAIT)
        assert threads.started <= 2
    finally:
        threads.stop()


def test_an_effect_that_ends_wakes_no_idle_thread() -> None:
    """A thread that finished an effect used to wake every idle kept thread (they shared one
    condition with close()'s wait): each woke, found no job and slept again, a context switch
    and a turn at the GIL each, several per effect under a stream of effects."""
    threads = EffectThreads(8)
    done = threading.Semaphore(0)
    gate = threading.Barrier(8, timeout=WAIT)
    try:
        for n in range(8):  # eight threads kept, all of them idle afterwards
            assert threads.take_slot(_always_open)
            threads.start(f"w-{n}", "statekeeper-effect-job", lambda: (gate.wait(), done.release()))
        for _ in range(8):
            assert done.acquire(timeout=WAIT)
        assert threads.wait(WAIT) == []
        for n in range(40):  # one at a time: seven threads stay idle all along
            assert threads.take_slot(_always_open)
            threads.start(f"k-{n}", "statekeeper-effect-job", done.release)
            assert done.acquire(timeout=WAIT)
            assert threads.wait(WAIT) == []
    finally:
        threads.stop()  # joins the idle threads: every wake-up they had is counted now
    assert threads.started == 8
    # Before: every end woke the seven idle threads (about 280 wake-ups for nothing).  A
    # thread that just ended may still take the next job before the one woken for it (the
    # design lets it: "the next job is its"), which is the only wake-up for nothing left.
    assert threads.idle_wakeups < 10


def test_a_fourth_effect_waits_for_a_slot_while_three_run() -> None:
    threads = EffectThreads(3)
    release = threading.Event()
    running = threading.Semaphore(0)

    def job() -> None:
        running.release()
        assert release.wait(WAIT)

    try:
        for n in range(3):
            assert threads.take_slot(_always_open)
            threads.start(f"k-{n}", "statekeeper-effect-job", job)
        for _ in range(3):
            assert running.acquire(timeout=WAIT)
        asked: list[bool] = []

        def closing() -> bool:  # the claimer asks while it waits; say "closing" the 3rd time
            asked.append(True)
            return len(asked) < 3

        assert not threads.take_slot(closing), "a fourth slot was given while three ran"
        assert sorted(threads.wait(0)) == ["k-0", "k-1", "k-2"]
        release.set()
        assert threads.wait(WAIT) == []
        assert threads.take_slot(_always_open)  # a slot is free again
        threads.start("k-3", "statekeeper-effect-job", job)
        assert running.acquire(timeout=WAIT)
        assert threads.wait(WAIT) == []
    finally:
        release.set()
        threads.stop()


def test_stopped_threads_end() -> None:
    threads = EffectThreads(2)
    ran = threading.Event()
    assert threads.take_slot(_always_open)
    threads.start("k", "statekeeper-effect-job", ran.set)
    assert ran.wait(WAIT)
    assert threads.wait(WAIT) == []
    kept = [t for t in threading.enumerate() if t.name == "statekeeper-effect-job"]
    assert len(kept) == 1, "the thread is kept for the next effect"
    threads.stop()
    assert not kept[0].is_alive()


def test_an_idle_thread_ends_by_itself() -> None:
    threads = EffectThreads(1, idle=0.0)
    ran = threading.Event()
    assert threads.take_slot(_always_open)
    threads.start("k", "statekeeper-effect-job", ran.set)
    assert ran.wait(WAIT)
    assert threads.wait(WAIT) == []
    for thread in [t for t in threading.enumerate() if t.name == "statekeeper-effect-job"]:
        thread.join(WAIT)
        assert not thread.is_alive()
    assert threads.take_slot(_always_open)  # and a new one starts for the next effect
    again = threading.Event()
    threads.start("k2", "statekeeper-effect-job", again.set)
    assert again.wait(WAIT)
    assert threads.started == 2
    threads.stop()


CHART = Chart("job", initial="waiting", states={
    "waiting": State(on={"go": "working"}),
    "working": State(entry=[Effect("work")], on={"done.effect.work": "finished"}),
    "finished": Final(),
})  # fmt: skip


def test_a_worker_runs_effects_concurrently_up_to_its_concurrency(tmp_path: Path) -> None:
    """Two rounds of effects through a client: each round needs both slots at once, and the
    second round runs on the threads the first one used."""
    together = threading.Barrier(2, timeout=WAIT)
    lock = threading.Lock()
    running = [0, 0]  # now, most at once
    threads: set[int] = set()

    def work(args: Any, key: str) -> str:
        with lock:
            running[0] += 1
            running[1] = max(running)
            threads.add(threading.get_ident())
        together.wait()
        with lock:
            running[0] -= 1
        return key

    with Client(f"sqlite:///{tmp_path / 'jobs.db'}", concurrency=2) as client:
        client.register(CHART, effects={"work": work})
        for round_ in range(2):
            names = [f"j-{round_}-{n}" for n in range(4)]
            for name in names:
                client.start("job", name)
                client.send(name, "go")
            for name in names:
                assert client.when(name, "finished", timeout=WAIT).state == "finished"
        assert running[1] == 2, "more effects ran at once than the worker's concurrency"
        assert client.worker._effect_threads.started == 2
        assert len(threads) == 2
