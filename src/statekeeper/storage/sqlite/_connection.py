"""SQLite connections: one per thread, writes queued fairly, each transaction retried.

Why one connection per thread rather than one connection behind a lock: in WAL mode readers
never wait for the writer, but a single shared connection would make every ``load`` queue
behind a group commit's fsync.  With a connection per thread, reads run beside the commit.
A thread that needs one takes over the connection of a thread that ended, if there is one
(effects run on short-lived threads: opening a connection for each cost more than its
work), and the other ended threads' connections are closed; :meth:`Connections.close`
closes the rest.

Why writers queue on a lock of our own: SQLite admits one writer per file, and a writer that
finds it taken waits in a busy handler that *polls*, sleeping up to 100 ms between looks, while
a busy writer frees the lock for only microseconds between its transactions.  Measured here:
a second claimer waited about a second while the first looped, and a steady group-commit
stream could starve every other writer until its deadline.  So every writer of one file in
this process (all threads, all ``SQLiteStore`` objects on that file) first takes one
``threading.Lock``; a blocked waiter takes it over as soon as it is released, without
polling.  Between processes only SQLite's lock exists, so there SQLite's handler waits a few
milliseconds per attempt and the transaction is retried every millisecond or two until the
deadline, instead of every 100 ms.

The deadline (``busy_timeout``) is the only clock a store reads; record times are always the
caller's ``now``.  After it, :class:`StoreUnavailable` says which file stayed locked.
"""


from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from typing import TypeVar

from ..base import IntegrityError, StoreError, StoreUnavailable

__all__ = ["SYNCHRONOUS", "Connections", "translate"]

T = TypeVar("T")

SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")
_BUSY = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED (and their extended codes, by the low byte)
_HANDLER_WAIT = 0.005  # seconds SQLite's own busy handler waits within one attempt

_writer_locks: dict[str, threading.Lock] = {}
_writer_locks_guard = threading.Lock()


def _writer_lock(key: str) -> threading.Lock:
    """The one write lock of the file at real path ``key`` in this process.

    Looked up on every write, never kept: after a fork the child must get fresh locks.
    """
    with _writer_locks_guard:
        return _writer_locks.setdefault(key, threading.Lock())


def _reset_after_fork() -> None:  # a lock held by another thread at fork would never be freed
    global _writer_locks_guard  # noqa: PLW0603 - replaced, not shared, in the child
    _writer_locks.clear()
    _writer_locks_guard = threading.Lock()


os.register_at_fork(after_in_child=_reset_after_fork)


def _is_busy(exc: sqlite3.Error) -> bool:
    return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in _BUSY


def translate(exc: sqlite3.Error, path: str) -> Exception:
    """The statekeeper error for a driver error, with what the user can do about it."""
    message = str(exc)
    if isinstance(exc, sqlite3.OperationalError):
        if "no such table" in message:
            return StoreError(f"SQLite database {path!r} has no statekeeper schema "
                              f"({message}); call migrate() first")
        if "malformed JSON" in message:
            return IntegrityError(f"SQLite database {path!r} holds a corrupted JSON value "
                                  f"({message}); run integrity_check() to find the row")
        return StoreUnavailable(f"SQLite database {path!r} is unavailable: {message}")
    if isinstance(exc, sqlite3.IntegrityError | sqlite3.InterfaceError):
        return ValueError(f"rejected by the SQLite schema of {path!r}: {message}")
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.ProgrammingError):
        return IntegrityError(f"SQLite database {path!r} is corrupted or not a database: "
                              f"{message}")
    return StoreError(f"SQLite database {path!r}: {message}")


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:  # a broken connection's transaction dies with it
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


class Connections:
    """The per-thread connections of one database file, and the transaction runner."""

    def __init__(self, path: str, *, synchronous: str, busy_timeout: float,
                 retries: int | None) -> None:
        self.path = path
        self._lock_key = os.path.realpath(path)
        self._synchronous = synchronous
        self._busy_timeout = busy_timeout
        self._retries = retries
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[tuple[weakref.ref[threading.Thread], sqlite3.Connection]] = []
        self._inherited: list[object] = []  # a forked child's copies: never used, never closed
        self._pid = os.getpid()
        self._closed = False
        #: connections opened so far (the rest were taken over from threads that ended)
        self.opened = 0

    def _connect(self) -> sqlite3.Connection:
        self.opened += 1
        conn = sqlite3.connect(self.path, timeout=min(_HANDLER_WAIT, self._busy_timeout),
                               isolation_level=None, check_same_thread=False,
                               cached_statements=256)
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreUnavailable(f"SQLite database {self.path!r} cannot use WAL mode "
                                       f"(journal_mode is {mode!r}); is it on a network drive?")
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
            conn.execute("PRAGMA foreign_keys=ON")
        except BaseException:
            conn.close()
            raise
        return conn

    def get(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and self._pid == os.getpid():
            return conn
        with self._lock:
            if self._closed:
                raise StoreError(f"the store of {self.path!r} is closed")
            if self._pid != os.getpid():  # forked: the parent's connections must not be used
                self._inherited.append(self._open)
                self._open, self._pid, self._local = [], os.getpid(), threading.local()
            alive, ended = [], []
            for thread, other in self._open:
                owner = thread()
                if owner is not None and owner.is_alive():
                    alive.append((thread, other))
                else:
                    ended.append(other)
            # an ended thread's connection: nobody else can be using it now
            spare = next((c for c in ended if not c.in_transaction), None)
            conn = self._connect() if spare is None else spare  # may raise: nothing changed
            for other in ended:
                if other is not conn:
                    other.close()
            self._open = [*alive, (weakref.ref(threading.current_thread()), conn)]
            self._local.conn = conn
            return conn

    def close(self) -> None:
        """Close every connection; later calls raise :class:`StoreError`."""
        with self._lock:
            self._closed = True
            for _, conn in self._open:
                conn.close()
            self._open = []
            self._local = threading.local()

    def read(self, fn: Callable[[sqlite3.Cursor], T], *, snapshot: bool = False) -> T:
        """Run ``fn`` (only reads), in one read transaction if ``snapshot``."""
        return self._run(fn, "BEGIN" if snapshot else None, None)

    def write(self, fn: Callable[[sqlite3.Cursor], T]) -> T:
        """Run ``fn`` in a ``BEGIN IMMEDIATE`` transaction, holding this file's writer lock."""
        return self._run(fn, "BEGIN IMMEDIATE", _writer_lock(self._lock_key))

    def _run(self, fn: Callable[[sqlite3.Cursor], T], begin: str | None,
             lock: threading.Lock | None) -> T:
        """Retried from the start while the database is busy, so ``fn`` must do only SQL."""
        start = time.monotonic()
        attempt = 0
        while True:
            if lock is not None and not lock.acquire(
                    timeout=max(0.0, self._busy_timeout - (time.monotonic() - start))):
                raise self._unavailable(start, attempt, "another thread of this process")
            try:
                return self._attempt(fn, begin)
            except sqlite3.Error as exc:
                if not _is_busy(exc):
                    raise translate(exc, self.path) from exc
                attempt += 1
                elapsed = time.monotonic() - start
                if elapsed >= self._busy_timeout or (
                        self._retries is not None and attempt > self._retries):
                    raise self._unavailable(start, attempt, str(exc)) from exc
            finally:
                if lock is not None:
                    lock.release()
            # another process holds the write lock: look again soon (jittered, so two
            # waiting processes do not keep colliding)
            time.sleep(min(random.uniform(0.0005, 0.002),
                           max(0.0, self._busy_timeout - elapsed)))

    def _unavailable(self, start: float, attempts: int, why: str) -> StoreUnavailable:
        return StoreUnavailable(
            f"SQLite database {self.path!r} stayed locked for "
            f"{time.monotonic() - start:.2f}s ({attempts} attempts, busy_timeout="
            f"{self._busy_timeout}s): another connection holds a long write transaction "
            f"({why})")

    def _attempt(self, fn: Callable[[sqlite3.Cursor], T], begin: str | None) -> T:
        conn = self.get()
        cur = conn.cursor()
        try:
            if begin is not None:
                cur.execute(begin)
            result = fn(cur)
            if begin is not None:
                cur.execute("COMMIT")
            return result
        except BaseException:
            _rollback(conn)
            raise
        finally:
            cur.close()
