"""The worker's timer scan: due timers handed to the engine, and when to look again.

Why a scan decides its own next wake-up: left to the worker's periodic poll, a steady stream
of timers would each fire up to ``poll`` seconds late.  After handing over what is due, the
next scan is at the first timer due after ``now`` (or at once, when the scan took as many
timers as one may), but not before the timers handed over have committed: a scan while they
are in flight would read their rows again for nothing, and waiting for them gathers what
fell due meanwhile into the next scan, as group commit gathers a step's callers.

Why a scan reads only the timers of the charts this process registered: it could not fire the
others (their chart is unknown here), and a read that returned them would return them again on
every scan, ahead of the timers it can fire.

Why the scan keeps what is in flight: a timer's row stays in the store until the commit that
fires it, so a scan can read a timer the engine is already firing.  Handing it over again
would only be planned, lose its commit and be settled as a duplicate.  So a scan asked for
while any are in flight (by the poll, or a new timer's wake-up) is put off until they have
committed: no scan reads while a timer it handed over may still be in the rows.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ..core.events import Event
from ..storage.base import Store
from ..storage.records import TimerRecord
from .engine import Engine
from .errors import EngineClosed
from .planner import SELF_SEND_PREFIX, SKIPPED_TIMER
from .requests import Answer, DeliverEvent, Request, timer_delivery
from .state import InstanceState

__all__ = ["TimerScan"]

_Key = tuple[str, str]  # (instance, timer id)
_log = logging.getLogger("statekeeper.runtime")


class TimerScan:
    """Hands due timers to an engine; calls ``wake(at)`` with when to scan next."""

    #: The most due timers one scan hands to the engine, a group's worth (the engine's default
    #: ``max_batch``); a scan that takes this many looks again as soon as they have committed.
    #: More would only wait in the engine's queue (a scan's CPU is per timer read, so the
    #: engine waits for scans no longer either way), alive: after a stall, 5,000 requests
    #: queued were 30,000 objects for every young collection to visit, and with a group in
    #: flight they crossed the collector's threshold in its middle (runtime/gc_tuning.py).
    limit = 1024

    def __init__(self, store: Store, engine: Engine, wake: Callable[[float], None], *,
                 late_policy: str, late_tolerance: float,
                 charts: Callable[[], list[str]] | None = None) -> None:
        self.store = store
        self.engine = engine
        self._charts = charts
        self.wake = wake
        self.late_policy = late_policy
        self.late_tolerance = late_tolerance
        self._lock = threading.Lock()
        self._in_flight: set[_Key] = set()
        # When every timer in flight has committed: wake at this time (None: the poll will)
        self._wake_when_settled = False
        self._wake_at_settled: float | None = None
        # Timers already reported as not fired: said once at WARNING, then at DEBUG, so one
        # bad row does not write a warning on every poll all day
        self._reported: set[_Key] = set()

    def charts(self) -> list[str]:
        """The charts whose timers this process fires.

        Those registered with its engine (it cannot fire the others), and of those the
        ones it leads when leadership is per chart (``charts`` given: the worker's).  Asking
        the store for these charts only keeps timers of other charts from filling every
        scan's ``limit`` (the scan would then look again at once, forever, and fire nothing
        else); they are left for a process that serves them (``docs/scale-out.md``).
        """
        return self.engine.registry.names() if self._charts is None else self._charts()

    def not_fired(self, key: _Key, error: BaseException) -> None:
        """Log a timer that could not fire (its row stays; a later scan retries it)."""
        with self._lock:
            first = key not in self._reported
            if first and len(self._reported) < 10_000:
                self._reported.add(key)
        _log.log(logging.WARNING if first else logging.DEBUG,
                 "timer %s of instance %r not fired (%s); a later scan retries it (said once)",
                 key[1], key[0], error)

    def scan(self, now: float) -> None:
        """Hand every due timer not already in flight to the engine; arrange the next scan.

        While timers handed over earlier are still in flight, nothing is read: the rows
        would mostly be theirs, decoded only to be dropped (under a steady stream, with the
        engine behind, every poll re-read thousands of them while the engine waited for the
        GIL).  The scan is only put off: the last of them to commit wakes the next one at
        once.  A store error is logged by the caller's loop and retried at its next poll.
        """
        with self._lock:
            if self._in_flight:
                self._wake_when_settled = True
                at = self._wake_at_settled
                self._wake_at_settled = now if at is None else min(at, now)
                return
        due = self.store.due_timers(now, limit=self.limit, charts=self.charts())
        next_due = self.store.next_timer_due(after=now)
        if len(due) >= self.limit:
            next_due = now  # more may be due than one scan takes
        fresh: list[TimerRecord] = []
        with self._lock:  # held briefly: the engine's thread takes it for every settled timer
            for timer in due:
                key = (timer.instance, timer.timer_id)
                if key not in self._in_flight:
                    self._in_flight.add(key)
                    fresh.append(timer)
            wait_for_them = self._wake_when_settled = bool(self._in_flight)
            self._wake_at_settled = next_due
        requests: list[Request] = [
            self.request(t, now, _Settles(self, (t.instance, t.timer_id))) for t in fresh]
        if requests:
            self.engine.post_many(requests)  # on a closed engine each is answered at once
        if not wait_for_them and next_due is not None:
            self.wake(next_due)

    def request(self, timer: TimerRecord, now: float,
                answer: Answer | None = None) -> DeliverEvent:
        """The delivery that fires ``timer`` at ``now``: its event, or a skip if too late."""
        lateness = max(0.0, now - timer.due)
        # A send to self with no delay is an event already sent, not a timer: never skipped.
        # The timer's stated policy wins; one that states none follows this worker's.
        policy = self.late_policy if timer.policy == "default" else timer.policy
        skip = policy == "skip" and \
            lateness > self.late_tolerance and not timer.timer_id.startswith(SELF_SEND_PREFIX)
        skipped = Event(SKIPPED_TIMER, {"timer": timer.timer_id, "event": timer.event,
                                        "lateness": lateness}, "platform") if skip else None
        return timer_delivery(timer, event=skipped, lateness=lateness, answer=answer)

    def _settled(self, key: _Key) -> None:
        with self._lock:
            self._in_flight.discard(key)
            if self._in_flight or not self._wake_when_settled:
                return
            self._wake_when_settled = False
            at = self._wake_at_settled
        if at is not None:
            self.wake(at)


class _Settles:
    """A fired timer's answer: nobody waits for the state, the scan only hears it settled.

    Cheaper than a ``concurrent.futures.Future`` (no condition, lock or callback list), and
    called in the engine's thread after the commit.
    """

    __slots__ = ("_done", "key", "scan")

    def __init__(self, scan: TimerScan, key: _Key) -> None:
        self.scan = scan
        self.key = key
        self._done = False

    def done(self) -> bool:
        return self._done

    def set_result(self, result: InstanceState, /) -> None:
        self._settle()

    def set_exception(self, exception: BaseException | None, /) -> None:
        # Not fired: its row is still there, and a later scan (of this process, if it goes on,
        # or of the next) finds it.
        if exception is not None and not isinstance(exception, EngineClosed):
            self.scan.not_fired(self.key, exception)
        self._settle()

    def _settle(self) -> None:
        if not self._done:
            self._done = True
            self.scan._settled(self.key)
