"""Wake-ups and leadership a store may offer the processes that share it.

Why in the store: only the database knows what other processes committed, and only it can
choose one leader among processes on several machines.  A store that offers neither (memory,
SQLite) leaves its workers polling, each its own leader.  PostgreSQL offers both: ``NOTIFY``
when committed work appears, and advisory locks for the leaders (one per chart, see
``docs/postgres.md``).

Safety never rests on either: a missed wake-up is found by the next poll, and two processes
that both believe they lead (a leader cut off from the database for a moment) can only do the
same work twice, which the store settles (a timer fires once: its row is deleted by the commit
that fires it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["SignalHandlers", "SignalSource", "Signals", "open_signals"]


@dataclass(frozen=True, slots=True)
class SignalHandlers:
    """What a store's signals call, from their own thread; each must return at once.

    Attributes:
        effects: runnable effects were committed.
        effects_at: an effect was given back, runnable from this time (the store's clock,
            seconds): a retry after its backoff, a lease released.  ``None``: call ``effects``
            at once instead.
        timer: a timer due at this time (the store's clock, seconds) was committed.
        resync: wake-ups may have been missed (connected again, or leadership gained): look
            for work now, as a poll would.
        check_every: seconds between attempts to become the leader (and between checks that
            the connection is alive); fail-over takes at most about this long.
        lead: whether to try to become the leader at all.
        charts: the charts whose timers this process can fire (it may register more later):
            leadership is then per chart, so each chart's timers are fired by a process that
            serves it.  ``None``: one leader for every chart.

    """

    effects: Callable[[], None]
    timer: Callable[[float], None]
    resync: Callable[[], None]
    check_every: float = 5.0
    lead: bool = True
    effects_at: Callable[[float], None] | None = None
    charts: Callable[[], Sequence[str]] | None = None


@runtime_checkable
class Signals(Protocol):
    """A running source of wake-ups; stop it with :meth:`close`."""

    @property
    def leader(self) -> bool:
        """Whether this process leads now: it runs the work that must run once."""

    @property
    def led(self) -> frozenset[str] | None:
        """The charts this process leads now (``None``: leadership is not per chart)."""

    @property
    def listening(self) -> bool:
        """Whether wake-ups arrive now (``False``: connecting again; the poll carries on)."""

    def close(self) -> None:
        """Stop listening and give leadership up (idempotent)."""


class SignalSource(Protocol):
    """A store that offers signals (PostgreSQL)."""

    def open_signals(self, handlers: SignalHandlers) -> Signals:
        """Start listening (in a thread of its own) and trying to lead."""


def open_signals(store: object, handlers: SignalHandlers) -> Signals | None:
    """The store's signals, started; ``None`` when the store has none (poll, and lead)."""
    opener = getattr(store, "open_signals", None)
    if opener is None:
        return None
    signals: Signals = opener(handlers)
    return signals
