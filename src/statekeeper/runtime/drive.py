"""Driving a worker from the caller's thread: due timers and claimable effects, now.

Split from ``worker`` to keep that module small; :meth:`Worker.run_due
<statekeeper.runtime.worker.Worker.run_due>` is the public entry and says what it is for.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .worker import Worker

__all__ = ["due_effects", "run_due", "run_until_idle"]


def run_due(worker: Worker) -> int:
    """Fire due timers and run claimable effects in this thread; wait for their commits."""
    handled = 0
    now = worker.clock.now()
    timers = worker.timers
    for timer in worker.store.due_timers(now, limit=timers.limit, charts=timers.charts()):
        error = worker.engine.submit(timers.request(timer, now)).exception()
        if error is None:
            handled += 1
        else:  # its row stays, as after a scan: not work done, or idle would never come
            timers.not_fired((timer.instance, timer.timer_id), error)
    claimed = worker.store.claim_effects(worker.owner, now, worker.lease, limit=5000)
    known = worker.lookup.claimed(claimed)
    for effect in claimed:
        if not worker.leases.start(effect):
            continue  # another worker's now: not run here
        try:
            request = worker._effect_outcome(effect, known.get(effect.key))
            if request is not None and not worker._dropped(effect.key):
                worker.engine.submit(request).exception()
        finally:
            worker.leases.drop(effect.key)
        handled += 1
    worker.engine.flush()
    return handled


def run_until_idle(worker: Worker, max_rounds: int) -> int:
    """Call :meth:`Worker.run_due` until nothing is left to do at the current time."""
    total = 0
    for _ in range(max_rounds):
        handled = worker.run_due()
        if not handled:
            return total
        total += handled
    raise RuntimeError(f"still busy after {max_rounds} rounds: a timer or effect loop?")


def due_effects(times: list[float], now: float) -> bool:
    """Pop the times up to ``now`` from the heap ``times``; whether there were any.

    The timer loop wakes the effect loop only then (an effect released for a backoff is
    runnable), not after every scan: each wake-up of the effect loop claims, and a claim is
    a write transaction that takes the store's write lock from the engine's commits.
    """
    due = False
    while times and times[0] <= now:
        heapq.heappop(times)
        due = True
    return due
