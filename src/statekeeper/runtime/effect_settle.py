"""An effect's start and run on a kept thread, and how its outcome reaches the engine.

Split from ``worker`` (at its size limit).  Why effects a commit hands to this process's
worker are started from the engine's thread when a slot is free (:func:`start_handed`): the
hop through the effect loop's thread cost a wake-up, a context switch and a turn at the GIL
per group commit with effects, for a lookup and a notify the engine does as cheaply.  Those
that find no free slot are run next by the threads holding the slots (:func:`run_in_slot`).

Why the outcome carries an answer of its own
rather than a :class:`concurrent.futures.Future`: nobody waits on it.  The effect's thread
hands the outcome event to the engine and goes back for the next effect; the outbox row is
closed by the outcome's commit, and if that commit fails the row stays leased and the effect
runs again when its lease ends.  A ``Future`` per outcome built a condition and a lock that
nobody used (an effect outcome is one in four commits of a chart that runs an effect every
four events); :class:`~.requests.Unheard` is a flag, and a log record when the commit
failed.  The runner builds the outcome's request with it (``heard=False``), not with a
``Future`` replaced afterwards.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING

from ..storage.records import EffectRecord
from .birth_leases import Handed
from .effect_lookup import EffectFn
from .effects import Abandoned
from .requests import Unheard

if TYPE_CHECKING:
    from .worker import Worker

__all__ = ["Unheard", "loop_slot", "run_effect", "run_in_slot", "start_effect", "start_handed"]

_log = logging.getLogger("statekeeper.runtime")


def run_effect(worker: Worker, effect: EffectRecord, known: EffectFn | None = None) -> None:
    """Run ``effect`` (on one of the worker's effect threads) and hand its outcome over."""
    if not worker.leases.start(effect):
        return  # its lease ended while it waited for a slot: another worker's now
    try:
        request = worker._effect_outcome(effect, known, heard=False)  # answered by an Unheard
        if request is not None and not worker._dropped(effect.key):
            worker.engine.post(request)
    except Abandoned:
        _log.info("effect %s finished after its worker closed: its outcome is dropped, "
                  "and the effect is taken up again when its lease ends", effect.key)
    except Exception:  # noqa: BLE001 - the lease expires and the effect is retried
        _log.exception("effect %s could not be completed", effect.key)
    finally:
        worker.leases.drop(effect.key)


def run_in_slot(worker: Worker, effect: EffectRecord, known: EffectFn | None) -> None:
    """Run ``effect``, then the handed effects waiting for a slot, one after another, in this one.

    A thread leaves its slot only once no handed effect waits (``worker._handed``): those the
    engine could not start for want of a slot are run by the threads holding the slots, as
    each comes back, rather than by the effect loop's thread, which had to be woken for them
    and then to wait for each slot to be freed (about two context switches per effect, for
    four in ten effects of the durable chart benchmark).  ``worker._draining`` counts the
    threads that will still look, so :meth:`~.worker.Worker.take` wakes the effect loop only
    when none will.  The look and the count's decrement are one step under the worker's
    lock, as is ``take``'s append, so no handed effect is left behind.

    A thread also leaves its slot while the effect loop waits for one (:func:`loop_slot`), for
    the effects it claimed (at-most-once, delayed, retried, or a dead worker's): else a steady
    stream of handed effects would hold every slot and keep those waiting for as long as it
    lasts.  The handed effects left are then the effect loop's, after its own.
    """
    try:
        while True:
            run_effect(worker, effect, known)
            with worker._wake:
                handed = worker._handed
                if not handed or not worker._running or worker._slot_wanted:
                    worker._draining -= 1  # (closing: the handed ones are given back there)
                    if handed and not worker._draining:
                        worker._wake.notify()  # the effect loop takes them up
                    return
                effect, record = handed.pop(0)
            known = worker.lookup.handed([(effect, record)]).get(effect.key)
            worker._effect_threads.now_running(effect.key, f"statekeeper-effect-{effect.name}")
    except BaseException:
        with worker._wake:
            worker._draining -= 1
        raise


def loop_slot(worker: Worker) -> bool:
    """Wait for a free slot for the effect loop (``False``: closing); see :func:`run_in_slot`."""
    worker._slot_wanted = True
    try:
        return worker._effect_threads.take_slot(lambda: worker._running)
    finally:
        worker._slot_wanted = False


def start_effect(worker: Worker, effect: EffectRecord, known: EffectFn | None) -> None:
    """Run ``effect`` on a kept thread, in the slot the caller took for it.

    Called with the worker's lock held (``run_in_slot`` says why it counts the thread).
    """
    worker._draining += 1
    try:
        worker._effect_threads.start(effect.key, f"statekeeper-effect-{effect.name}",
                                     functools.partial(run_in_slot, worker, effect, known))
    except BaseException:
        worker._draining -= 1
        raise


def start_handed(worker: Worker, handed: list[Handed]) -> list[Handed]:
    """Start the handed effects that find a free slot now, in order; return the rest.

    Called with the worker's lock held while it runs, so ``close()`` waits for these.  The
    rest are run by the threads holding the slots as they come back (:func:`run_in_slot`).
    """
    known = worker.lookup.handed(handed)
    threads = worker._effect_threads
    for index, (effect, _) in enumerate(handed):
        if not threads.try_slot():
            return handed[index:]
        start_effect(worker, effect, known.get(effect.key))
    return []
