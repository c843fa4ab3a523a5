"""Background work of the durable runtime: due timers and the effect outbox.

Why it is separate from the engine: the engine only commits.  The worker finds work in the
*store* (not in memory), so a restarted process, or another process on the same database,
finds exactly what was left: overdue timers fire promptly, and effects whose lease expired
(their worker died) are claimed again and re-run with the same idempotency key.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import random
import threading
import time
import uuid
from collections.abc import Mapping, Sequence

from ..clock import Clock
from ..core.actions import LATE_POLICIES
from ..resilience import Breaker
from ..storage.base import Store
from ..storage.records import EffectRecord
from ..storage.signals import SignalHandlers, Signals, open_signals
from .birth_leases import Handed
from .drive import due_effects, run_due, run_until_idle
from .effect_lookup import EffectFn, EffectLookup
from .effect_settle import loop_slot, start_effect, start_handed
from .effect_threads import EffectThreads
from .effects import AttemptHook, EffectRunner, outcome_key
from .engine import Engine
from .leases import Leases
from .planner import SEND_EFFECT
from .policies import SharedPolicies
from .registry import Registry, UnknownChart
from .requests import DeliverEvent
from .sends import deliver_send
from .settings import check_seconds
from .timer_scan import TimerScan

__all__ = ["Worker", "outcome_key"]  # outcome_key: from .effects

_log = logging.getLogger("statekeeper.runtime")


class Worker:
    """Fires due timers and runs outbox effects for one engine.

    Args:
        engine: where outcomes are committed.
        lease: seconds an effect is leased for; a worker that dies mid-effect loses it after
            this long, and the effect is run again (at-least-once) or, if declared
            at-most-once, answered with ``error.effect.<name>`` instead.
        concurrency: effects run at once (threads; coroutine effects share one event loop).
        late_policy: ``"fire_late"`` (default) or ``"skip"``: what to do with a timer found
            overdue by more than ``late_tolerance`` seconds (after downtime) when its chart
            states no policy of its own (a stated ``late=`` wins).
        breakers: circuit breaker settings by the name charts use (``breaker="payments"``);
            their state is shared through the store with every other worker.
        hooks: called with every effect attempt started and finished
            (:class:`~statekeeper.resilience.Attempt`).
        rng: the random source of retry jitter (seed one for reproducible schedules).

    """

    def __init__(self, engine: Engine, *, lease: float = 30.0, concurrency: int = 8,
                 poll: float = 1.0, late_policy: str = "fire_late",
                 late_tolerance: float = 1.0, breakers: Mapping[str, Breaker] | None = None,
                 hooks: Sequence[AttemptHook] = (), rng: random.Random | None = None) -> None:
        check_seconds("lease", lease, zero=False)
        check_seconds("poll", poll, zero=False)
        check_seconds("late_tolerance", late_tolerance, zero=True)
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be a whole number of effects >= 1, "
                             f"not {concurrency!r}")
        self.engine = engine
        self.store: Store = engine.store
        self.registry: Registry = engine.registry
        self.lookup = EffectLookup(self.store, self.registry)
        self.clock: Clock = engine.clock
        self.owner = f"worker-{uuid.uuid4().hex[:12]}"
        self.lease = lease
        self.poll = poll
        if late_policy not in LATE_POLICIES:
            raise ValueError(f"late_policy must be 'fire_late' or 'skip', not {late_policy!r}")
        self._effect_threads = EffectThreads(concurrency)
        # One lock, two conditions: a wake-up for effects does not wake the timer loop (which
        # would scan), and a new timer due after the loop's next look wakes nobody.
        lock = threading.Lock()
        self._wake = threading.Condition(lock)  # the effect loop's
        self._wake_timer_loop = threading.Condition(lock)
        self._effects_due = True
        #: effects leased to this worker in the commits that wrote them (engine.lessee)
        self._handed: list[Handed] = []
        #: effect threads that look for handed effects before leaving their slot (run_in_slot),
        #: and whether the effect loop waits for a slot meanwhile (they leave theirs then)
        self._draining, self._slot_wanted = 0, False
        self._timer_at: float | None = 0.0
        #: (a heap of) the times effects released for later become runnable (_wake_at)
        self._effects_at: list[float] = []
        #: the clock time the timer loop sleeps until (None: it is not sleeping)
        self._timer_sleep_until: float | None = None
        self.timers = TimerScan(self.store, engine, self.wake_timers, late_policy=late_policy,
                                late_tolerance=late_tolerance, charts=self._timer_charts)
        self._running = False
        self._threads: list[threading.Thread] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._signals: Signals | None = None
        self.policies = SharedPolicies(self.store, breakers)
        self.leases = Leases(self.store, self.clock, self.owner, lease)
        self.runner = EffectRunner(self.store, self.clock, self.owner, self.policies, hooks=hooks,
                                   rng=rng, event_loop=self._event_loop)
        engine.on_effects.append(self.wake_effects)
        engine.on_timer.append(self.wake_timers)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._running:
            return
        self._running = True
        self.engine.lessee = self  # new effects come leased to this worker, with no claim
        # Wake-ups from other processes, and the leader's lock, where the store has them
        self._signals = open_signals(self.store, SignalHandlers(
            effects=self.wake_effects, timer=self.wake_timers, resync=self._resync,
            check_every=min(self.poll, self.lease / 3), effects_at=self._wake_at,
            charts=self.registry.names))
        for target, name in ((self._timer_loop, "timers"), (self._effect_loop, "effects")):
            thread = threading.Thread(target=target, name=f"statekeeper-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self, timeout: float | None = None, *, release: bool = False) -> list[str]:
        """Stop; wait for running effects, at most ``timeout`` seconds; return what was left.

        An effect still running after ``timeout`` is abandoned as if this process had died
        there: its outcome is dropped when it comes, its lease runs out, and then it runs
        again (at-least-once) or is answered with ``error.effect.<name>`` (at-most-once).
        With ``release`` its lease is given back at once instead, for a process about to
        exit (the abandoned call dies with it): another worker takes the effect up without
        waiting for the lease to end, its attempt still counted, so an at-most-once effect
        is answered with ``error.effect.<name>`` rather than run again.  Effects claimed but
        not started yet are given back at once.  Returns the keys of the abandoned effects.
        A second call does nothing and returns ``[]``.
        """
        check_seconds("close timeout", timeout, zero=True, optional=True)
        if self.runner.closed.is_set():
            return []
        if self.engine.lessee is self:
            self.engine.lessee = None
        with self._wake:
            self._running = False
            self._wake.notify_all()
            self._wake_timer_loop.notify_all()
        if self._signals is not None:
            self._signals.close()  # leadership given up: another worker takes it over
            self._signals = None
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        with self._wake:
            handed, self._handed = self._handed, []
        self.leases.give_back([effect for effect, _ in handed])  # never started: runnable now
        abandoned = self._effect_threads.wait(timeout)
        self.runner.closed.set()
        self._effect_threads.stop()  # the kept threads end (an abandoned one after its call)
        if abandoned:
            _log.warning("closing: %d effect(s) still running after %gs abandoned (%s); each "
                         "runs again when its lease ends, or is answered with error.effect "
                         "if at-most-once", len(abandoned), timeout, ", ".join(abandoned))
            if release:
                self.leases.release(abandoned)
        if self._loop is not None:
            loop, self._loop = self._loop, None
            loop.call_soon_threadsafe(loop.stop)
            if self._loop_thread is not None:
                self._loop_thread.join()
            for task in asyncio.all_tasks(loop):
                task.cancel()  # an abandoned attempt: it will never be answered
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()
        return abandoned

    def take(self, effects: list[Handed]) -> None:
        """Run effects leased to this worker by the commit that wrote them (engine thread).

        Those that find a free slot start at once; the rest run next in a slot, by the thread
        holding it (``effect_settle.run_in_slot``), or by the effect loop if none is left.
        """
        with self._wake:
            if self._running:
                rest = effects if self._handed else start_handed(self, effects)
                if rest:
                    self._handed += rest
                    if not self._draining:  # else a thread holding a slot runs them next
                        self._wake.notify()
                return
        self.leases.give_back([effect for effect, _ in effects])  # closed meanwhile

    def wake_effects(self) -> None:
        with self._wake:
            self._effects_due = True
            self._wake.notify_all()

    @property
    def leader(self) -> bool:
        """Whether this worker scans timers: on PostgreSQL one worker per chart does.

        The leader of a chart's timers is chosen through the database among the workers
        that serve it (an advisory lock, see ``docs/postgres.md``); this worker leads if it
        leads any chart.  On a store without leadership every worker scans.
        """
        if self.runner.closed.is_set():
            return False  # a closed worker leads nothing (its signals, and lock, are gone)
        return self._signals is None or self._signals.leader

    def _timer_charts(self) -> list[str]:
        """The charts whose timers this worker fires: registered here, and led by it.

        Led, where the store chooses a leader per chart: another worker serving the same
        chart may lead it instead.
        """
        names = self.registry.names()
        signals = self._signals
        led = None if signals is None else signals.led
        return names if led is None else [name for name in names if name in led]

    @property
    def listening(self) -> bool:
        """Whether wake-ups from other processes arrive now (else the poll finds work)."""
        return self._signals is not None and self._signals.listening

    def holding(self) -> list[str]:
        """The keys of the effects this worker is running now (it holds their leases)."""
        return self.leases.holding()

    def _resync(self) -> None:
        """Wake-ups may have been missed (connected again, just became leader): look now."""
        self.wake_effects()
        self.wake_timers(0.0)

    def wake_timers(self, due: float) -> None:
        """Scan for due timers at ``due`` (clock time) at the latest.

        The timer loop is woken only when it sleeps past ``due``: a commit that sets a timer
        an hour away does not cost a scan (under a stream of such commits, a scan each).
        """
        with self._wake:
            if self._timer_at is None or due < self._timer_at:
                self._timer_at = due
            until = self._timer_sleep_until
            if until is None or due < until:
                self._wake_timer_loop.notify()

    # ------------------------------------------------------------------ timers

    def _timer_loop(self) -> None:
        while True:
            with self._wake:
                # Sleep until the next known due time, but rescan at least every ``poll``
                # seconds of real time: other processes add timers this one is not told about.
                wait = self.poll if not self.leases else min(self.poll, self.lease / 3)
                poll_at = time.monotonic() + wait
                while self._running:
                    now, at = self.clock.now(), self._timer_at
                    left = poll_at - time.monotonic()
                    if (at is not None and at <= now) or left <= 0:
                        break
                    if at is not None:
                        left = min(left, at - now)
                    self._timer_sleep_until = now + left
                    self._wake_timer_loop.wait(left)
                self._timer_sleep_until = None
                if not self._running:
                    return
                effects_due = due_effects(self._effects_at, self.clock.now())
                self._timer_at = self._effects_at[0] if self._effects_at else None
            self.leases.heartbeat()
            if self.leader:
                self._fire_due()
            if effects_due:  # not after every scan: each wake-up of the effect loop is a claim
                self.wake_effects()  # (a write transaction, in the engine's way)

    # ------------------------------------------------------------------ synchronous driving

    def run_due(self) -> int:
        """Fire due timers and run claimable effects in this thread; wait for their commits.

        For tests and tools driving a :class:`~statekeeper.VirtualClock`: no background
        threads are needed.  Returns how many timers and effects were handled; a timer that
        could not fire (its instance row corrupted or gone) is logged and not counted, so
        :meth:`run_until_idle` still comes to an end.
        """
        return run_due(self)

    def run_until_idle(self, max_rounds: int = 10_000) -> int:
        """Call :meth:`run_due` until nothing is left to do at the current time."""
        return run_until_idle(self, max_rounds)

    def _fire_due(self) -> None:
        try:
            self.timers.scan(self.clock.now())
        except Exception:  # noqa: BLE001 - the store may be briefly unavailable; retry later
            _log.exception("timer scan failed")

    # ------------------------------------------------------------------ effects

    def _effect_loop(self) -> None:
        while True:
            with self._wake:
                while self._running and not self._effects_due and not self._handed:
                    if not self._wake.wait(self.poll):
                        self._effects_due = True  # periodic: expired leases of dead workers
                if not self._running:
                    return
                handed, self._handed = self._handed, []
                claim, self._effects_due = self._effects_due, False
            known = self.lookup.handed(handed)
            effects = [effect for effect, _ in handed]
            claimed: list[EffectRecord] = []
            if claim:
                try:
                    claimed = self.store.claim_effects(self.owner, self.clock.now(), self.lease,
                                                       limit=64)
                except Exception:  # noqa: BLE001 - retried on the next wake-up
                    _log.exception("effect claim failed")
                known.update(self.lookup.claimed(claimed))
                effects += claimed
            for index, effect in enumerate(effects):
                if not loop_slot(self):
                    self.leases.give_back(effects[index:])  # closing: not started, so given back
                    return
                with self._wake:
                    start_effect(self, effect, known.get(effect.key))
            if len(claimed) == 64:
                self.wake_effects()

    def _dropped(self, key: str) -> bool:
        """Whether an outcome of ``key`` is dropped: its lease is another worker's now."""
        if not self.leases.lost(key):
            return False
        _log.warning("effect %s: this worker no longer holds its lease (it ran past it and "
                     "another worker took the effect over); the outcome of this attempt is "
                     "dropped, the other worker's counts", key)
        return True

    def heartbeat(self) -> int:
        """Extend the leases of effects this worker is running; return how many it extended.

        A long effect keeps its lease for as long as its worker lives (the timer thread calls
        this every third of a lease); if the worker dies, the lease runs out and another worker
        takes the effect over.  A lease found taken over is logged, and that attempt's outcome
        is not reported (the other worker's counts).
        """
        return self.leases.heartbeat()

    def _effect_outcome(self, effect: EffectRecord, known: EffectFn | None = None, *,
                        heard: bool = True) -> DeliverEvent | None:
        if effect.name == SEND_EFFECT:
            return deliver_send(self.engine, effect, self.owner, self.clock, heard)
        try:
            fn, policy, chart = known if known is not None else self.lookup.one(effect)
        except UnknownChart as exc:
            # Not this worker's to decide: its chart is not registered here (yet: a process
            # starts its worker before the application registers its charts; or another
            # service owns the chart).  Give the effect back without counting an attempt.
            _log.warning("effect %s waits: %s", effect.key, exc)
            at = self.clock.now() + self.poll
            self.store.release_effect(effect.key, self.owner, available_at=at, error=None,
                                      refund=True)
            self._wake_at(at)
            return None
        return self.runner.run(effect, fn, policy, self._wake_at, chart, heard=heard)

    def _wake_at(self, at: float) -> None:
        """A released effect becomes runnable at ``at``: the timer loop wakes the effect loop."""
        with self._wake:
            heapq.heappush(self._effects_at, at)
        self.wake_timers(at)

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            self._loop_thread = threading.Thread(target=loop.run_forever, daemon=True,
                                                 name="statekeeper-async-effects")
            self._loop_thread.start()
            self._loop = loop
        return self._loop

