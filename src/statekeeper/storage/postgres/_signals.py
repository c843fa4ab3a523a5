"""Wake-ups by ``LISTEN`` and the leader's advisory lock, on one connection outside the pool.

Why one connection of its own: a listening connection must stay open and idle between
notifications, and a session advisory lock lasts as long as the session that took it, so
neither can live on a pooled connection that is lent to others.  One connection serves both:
when it is lost, this process stops leading at the same moment the server lets the locks go
(a process killed with SIGKILL closes its socket, so another takes over at its next attempt,
``check_every`` seconds at most).

The notifications come from triggers on the outbox and timers tables (migrations 3 and 4): a
commit that writes runnable effects or timers, or gives an effect back for a later attempt,
notifies the schema's channel, delivered only once it commits.  A lost connection is made
again with backoff (0.1 s doubling to 10 s, with jitter); meanwhile the worker's poll keeps
everything moving, and once connected again the worker is told to look for work at once
(``resync``), since notifications sent meanwhile are lost.  TCP keepalives on this connection
(``long_lived``) notice a cut network on both sides within about 25 s.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable

import psycopg
from psycopg import sql

from ..base import StoreError
from ..signals import SignalHandlers
from ._pool import Connection, connect, explain_failure
from ._settings import PostgresSettings

__all__ = ["PostgresSignals", "leader_lock_key", "wake_channel"]

_log = logging.getLogger("statekeeper.runtime")
#: at most this long between looks at the stop flag while waiting for notifications
_TICK = 0.5
_BACKOFF_FIRST, _BACKOFF_MAX = 0.1, 10.0


def wake_channel(schema: str) -> str:
    """The ``NOTIFY`` channel of ``schema``: ``sk_`` and the md5 of its name (fits 63 bytes)."""
    return "sk_" + hashlib.md5(schema.encode(), usedforsecurity=False).hexdigest()


def leader_lock_key(schema: str, chart: str | None = None) -> int:
    """The session advisory lock key the leader of ``schema``'s workers holds.

    With ``chart``: the key of the leader of that chart's timers (a schema name holds no
    ``:``, so no two pairs share a name).
    """
    name = f"statekeeper.leader:{schema}" + ("" if chart is None else f":{chart}")
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresSignals:
    """A thread that listens on the schema's channel and tries to hold the leader's locks.

    With a ``charts`` handler, leadership is per chart: one lock per chart the process
    serves, so the timers of each chart are fired by a process that knows it, however the
    charts are spread over the workers.  Without, one lock for the whole schema.
    """

    def __init__(self, settings: PostgresSettings, handlers: SignalHandlers) -> None:
        self.settings = settings
        self.handlers = handlers
        self._channel = wake_channel(settings.schema)
        self._key = leader_lock_key(settings.schema)
        self._stop = threading.Event()
        self._leader = False
        self._led: frozenset[str] = frozenset()
        self._listening = False
        self._thread = threading.Thread(target=self._run, name="statekeeper-listen", daemon=True)
        self._thread.start()

    @property
    def leader(self) -> bool:
        return self._leader

    @property
    def led(self) -> frozenset[str] | None:
        """The charts this process leads now; ``None``: leadership is not per chart."""
        return None if self.handlers.charts is None else self._led

    @property
    def listening(self) -> bool:
        return self._listening

    def close(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()

    # -- the thread ----------------------------------------------------------------------------

    def _run(self) -> None:
        backoff = _BACKOFF_FIRST
        failures = 0
        while not self._stop.is_set():
            try:
                conn = connect(self.settings, autocommit=True, long_lived=True)
            except StoreError as exc:
                failures += 1
                self._wait_to_retry(exc, backoff, failures)
                backoff = min(backoff * 2, _BACKOFF_MAX)
                continue
            try:
                self._serve(conn)
                backoff, failures = _BACKOFF_FIRST, 0
            except (psycopg.Error, StoreError) as exc:
                failures = 1
                error = explain_failure(exc, self.settings) if isinstance(
                    exc, psycopg.OperationalError) else exc
                self._lost(error)
                self._wait_to_retry(error, backoff, failures)
                backoff = min(backoff * 2, _BACKOFF_MAX)
            finally:
                self._listening = False
                self._leader = False
                self._led = frozenset()
                conn.close()  # the server lets the leader's lock go with the session

    def _wait_to_retry(self, error: BaseException, backoff: float, failures: int) -> None:
        delay = backoff * random.uniform(0.5, 1.0)
        _log.log(logging.WARNING if failures == 1 else logging.DEBUG,
                 "%s: cannot listen for wake-ups (%s); trying again in %.1fs, polling "
                 "meanwhile", self.settings.display, error, delay)
        self._stop.wait(delay)

    def _lost(self, error: BaseException) -> None:
        if self._leader:
            _log.warning("%s: no longer the leader of schema %r: its connection was lost (%s)",
                         self.settings.display, self.settings.schema, error)

    def _serve(self, conn: Connection) -> None:
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
        self._listening = True
        _log.info("%s: listening for wake-ups of schema %r", self.settings.display,
                  self.settings.schema)
        self._call(self.handlers.resync)  # what was committed while not listening: look now
        next_try = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_try:
                next_try = now + self.handlers.check_every
                if self.handlers.lead:
                    self._try_to_lead(conn)
            wait = max(0.0, min(_TICK, next_try - time.monotonic()))
            for note in conn.notifies(timeout=wait):
                self._dispatch(note.payload)

    def _call(self, handler: Callable[..., None], *args: float) -> None:
        """Call a handler; its failure is logged, and listening and leading go on."""
        try:
            handler(*args)
        except Exception:  # noqa: BLE001 - a handler's bug must not end wake-ups for good
            _log.exception("%s: a wake-up handler failed; listening goes on",
                           self.settings.display)

    def _try_to_lead(self, conn: Connection) -> None:
        """Take the leader's locks not held yet; a leader holding all checks its connection."""
        if self.handlers.charts is None:
            wanted = {} if self._leader else {self._key: ""}
        else:
            wanted = {leader_lock_key(self.settings.schema, chart): chart
                      for chart in self._served() if chart not in self._led}
        if not wanted:
            if self._leader:
                conn.execute("SELECT 1")  # a dead connection found now, not at a notify
            return
        taken = [wanted[key] for (key,) in conn.execute(
            "SELECT key FROM unnest(%s::bigint[]) AS key WHERE pg_try_advisory_lock(key)",
            (list(wanted),)).fetchall()]
        if not taken:
            return
        self._led = self._led.union(taken)
        self._leader = True
        charts = "" if self.handlers.charts is None else f" for {', '.join(sorted(taken))}"
        _log.info("%s: this worker is now the leader of schema %r%s (it scans timers)",
                  self.settings.display, self.settings.schema, charts)
        self._call(self.handlers.resync)

    def _served(self) -> list[str]:
        """The charts this process serves now (it may register more later)."""
        assert self.handlers.charts is not None
        try:
            return list(self.handlers.charts())
        except Exception:  # noqa: BLE001 - a handler's bug must not end listening
            _log.exception("%s: reading the charts served failed", self.settings.display)
            return []

    def _dispatch(self, payload: str) -> None:
        if payload == "effects":
            self._call(self.handlers.effects)
            return
        kind, _, when = payload.partition(" ")
        if kind not in ("timer", "effects") or not when:
            _log.debug("ignored a wake-up not meant for workers: %r", payload)
            return
        try:
            due = float(when)
        except ValueError:
            _log.debug("ignored a wake-up with a bad time: %r", payload)
            return
        if kind == "timer":
            self._call(self.handlers.timer, due)
        elif self.handlers.effects_at is not None:
            self._call(self.handlers.effects_at, due)
        else:
            self._call(self.handlers.effects)
