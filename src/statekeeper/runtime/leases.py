"""The leases a worker holds on the effects it runs: heartbeats, loss, and giving them back.

Why apart from the worker: a lease is the worker's only claim to an effect, and every
decision about it is taken here against the store: extended before it lapses while the
effect runs (a heartbeat, every third of a lease), found lost when another worker took the
effect over (its outcome is then not reported: the other worker's counts), and given back
when the worker stops (at once, rather than when the lease would end).
"""

from __future__ import annotations

import logging
import threading

from ..clock import Clock
from ..storage.base import Store
from ..storage.records import EffectRecord

__all__ = ["Leases"]

_log = logging.getLogger("statekeeper.runtime")
_LOST = float("inf")  # the lease end of an effect whose lease another worker took over


class Leases:
    """The running effects of one worker (``owner``), each with the end of its lease."""

    def __init__(self, store: Store, clock: Clock, owner: str, lease: float) -> None:
        self.store = store
        self.clock = clock
        self.owner = owner
        self.lease = lease
        self._lock = threading.Lock()
        self._until: dict[str, float] = {}  # running effect key -> lease end (_LOST: lost)

    def start(self, effect: EffectRecord) -> bool:
        """Hold ``effect`` for its run if its lease is still this worker's; else ``False``.

        An effect may wait between its claim and its start (for a free slot, behind a long
        effect, or while the database was unreachable).  If its lease ended meanwhile,
        another worker may have claimed it, and running it here too would run it twice at
        once: the store is asked then (only then), and a lease still held is extended.  When
        the store cannot answer, the effect is not started: its lease has ended, so it is
        another worker's to claim.
        """
        now = self.clock.now()
        until = effect.lease_until or now + self.lease
        if until <= now:
            until = now + self.lease
            try:
                held = self.store.extend_lease(effect.key, self.owner, until)
            except Exception as exc:  # noqa: BLE001 - not run; its lease has ended anyway
                _log.warning("effect %s not started: its lease ended while it waited, and "
                             "the store could not confirm it (%s)", effect.key, exc)
                return False
            if not held:
                _log.warning("effect %s not started: its lease ended while it waited and "
                             "another worker took it over", effect.key)
                return False
        with self._lock:
            self._until[effect.key] = until
        return True

    def drop(self, key: str) -> None:
        """``key`` stopped running (its outcome reported, dropped or released)."""
        with self._lock:
            self._until.pop(key, None)

    def holding(self) -> list[str]:
        """The keys of the effects running now, in order."""
        with self._lock:
            return sorted(self._until)

    def __bool__(self) -> bool:
        with self._lock:
            return bool(self._until)

    def heartbeat(self) -> int:
        """Extend the leases that have used a third of their time; return how many.

        A lease found taken over is marked lost and logged: the attempt's outcome will not
        be reported (:meth:`lost`).
        """
        now = self.clock.now()
        with self._lock:
            due = [key for key, until in self._until.items()
                   if until - now < self.lease * 2 / 3]
        extended = 0
        for key in due:
            until = now + self.lease
            try:
                held = self.store.extend_lease(key, self.owner, until)
            except Exception:  # noqa: BLE001 - retried on the next heartbeat
                _log.exception("could not extend the lease of effect %s", key)
                continue
            with self._lock:
                if key in self._until:
                    self._until[key] = until if held else _LOST
            if held:
                extended += 1
            else:
                _log.warning("effect %s: its lease was taken over by another worker", key)
        return extended

    def lost(self, key: str) -> bool:
        """Whether the lease of running effect ``key`` is no longer this worker's.

        Known when a heartbeat found it taken over; otherwise the store is asked only when
        the lease has run out by this worker's clock (the heartbeat failed, or the effect
        outran it), so the common case costs nothing.  Asking extends the lease if it is
        still held, so the outcome can be committed under it.
        """
        with self._lock:
            until = self._until.get(key)
        if until is None:
            return False
        if until == _LOST:
            return True
        now = self.clock.now()
        if until > now:
            return False
        try:
            return not self.store.extend_lease(key, self.owner, now + self.lease)
        except Exception:  # noqa: BLE001 - cannot tell: report it; a duplicate is settled
            _log.debug("could not check the lease of effect %s", key, exc_info=True)
            return False

    def give_back(self, effects: list[EffectRecord]) -> None:
        """Release claimed effects that never started, runnable now, their attempt refunded."""
        for effect in effects:
            try:
                self.store.release_effect(effect.key, self.owner, available_at=self.clock.now(),
                                          error=None, refund=True)
            except Exception:  # noqa: BLE001 - its lease runs out instead
                _log.exception("effect %s could not be given back", effect.key)

    def release(self, keys: list[str]) -> None:
        """Release the leases of abandoned effects, attempts counted, runnable at once."""
        for key in keys:
            try:
                if self.store.release_effect(key, self.owner, available_at=self.clock.now(),
                                             error=None):
                    _log.info("effect %s: its lease was released", key)
            except Exception:  # noqa: BLE001 - its lease runs out instead
                _log.exception("effect %s: its lease could not be released; it runs out",
                               key)
