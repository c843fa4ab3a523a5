"""Driving a worker from the caller's thread: due timers and claimable effects, now.

Split from ``worker`` to keep that module small; :meth:`Worker.run_due
<statekeeper.runtime.worker.Worker.run_due>` is the public entry and says what it is for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .worker import Worker

__all__ = ["run_due"]


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
