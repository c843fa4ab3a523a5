"""Clients of durable instances: :class:`Client` and its asyncio twin :class:`AsyncClient`.

Both are thin: every decision lives in :class:`_BaseClient` and the runtime; the twins differ
only in how they wait.  An embedded client (the default) also runs the engine and a worker in
background threads, so one process with one SQLite file is a complete deployment.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from ..core.compile import CompiledChart
from ..core.events import Event
from ..core.model import Chart
from ..runtime import dead_letters
from ..runtime.authz import Principal
from ..runtime.envelopes import Envelope, EnvelopeVerifier
from ..runtime.errors import EngineClosed
from ..runtime.migrate import MigrationRun
from ..runtime.retention import ArchiveError, PruneReport
from ..runtime.state import InstanceState
from ..runtime.watch import Watch
from ..storage.records import DeadLetterRecord, TransitionRecord
from ._aio import AsyncClient
from ._audit import AuditPage, Time
from ._base import _BaseClient, check_text, check_wait, check_wait_flag, open_store
from ._page import QueryPage
from ._privacy import REFUSALS

__all__ = ["ArchiveError", "AsyncClient", "AuditPage", "Client", "PruneReport", "QueryPage",
           "open_store"]


class Client(_BaseClient):
    """Durable instances of registered charts, for synchronous code.

    Example::

        client = Client("sqlite:///orders.db")
        client.register(order_chart, guards=..., effects={"charge": charge_card})
        client.start("order", "o-1", data={"total": 42})
        client.send("o-1", "accept", idempotency_key="req-7")   # the settled state
    """

    def start(self, chart: str | Chart | CompiledChart, instance_id: str,
              data: Mapping[str, Any] | None = None,
              labels: Mapping[str, str] | None = None, *,
              version: int | str | None = None,
              principal: Principal | None = None,
              traceparent: str | None = None) -> InstanceState:
        """Create an instance and run it to its first stable configuration (committed).

        It runs on ``version`` of the chart, or on the newest registered one, and stays on
        it until migrated (:meth:`migrate`): versions run side by side.  ``principal`` (or
        the client's default) is checked against the ``start`` rules of the chart's
        :meth:`authorize` policy, if it has any.  ``traceparent`` (a W3C header; with
        tracing on, the current span's by default) is the trace the first step, its effects
        and its timers continue.

        Raises:
            InstanceExists: an instance with that id exists.
            UnknownChart: no chart of that name (or no such version) is registered.
            NotAuthorized: the chart's policy does not let the principal start it; nothing
                was created.
            InvalidTraceparent: ``traceparent`` is malformed (nothing is written).

        """
        return self._start(chart, instance_id, data, labels, version, principal,
                           traceparent).result()

    def send(self, instance_id: str, event: str | Event, data: Any = None, *,
             idempotency_key: str | None = None, actor: str | None = None,
             trace_id: str | None = None, wait: bool = True,
             principal: Principal | None = None, traceparent: str | None = None) -> Any:
        """Deliver an event; return the settled state once it is committed.

        With ``wait=False`` return a :class:`concurrent.futures.Future` of it instead.  A
        repeated ``idempotency_key`` returns the first result (``outcome="duplicate"``) and
        changes nothing.  ``principal`` (or the client's default) is who sends it: checked
        against the chart's :meth:`authorize` policy, and the log's actor.  ``traceparent``
        (a W3C header; with tracing on, the current span's by default) is the trace the
        step, its effects and its timers continue; the transition row's ``trace_id`` keeps
        it unless ``trace_id`` is given.

        Raises:
            UnknownInstance: no such instance.
            EventNotAccepted: the configuration does not accept the event (recorded in the
                history as rejected; the state is unchanged).
            MachineFinished: the instance already finished.
            NotAuthorized: the chart's policy refuses the principal this event (or the
                state it leads to); logged with outcome ``denied``, nothing else applied.
            InvalidTraceparent: ``traceparent`` is malformed (nothing is written).

        """
        if wait is not True and wait is not False:
            check_wait_flag(wait)
        future = self._send(instance_id, event, data, idempotency_key, actor, trace_id,
                            principal, traceparent)
        reader = self.principal if principal is None else principal
        if reader is None:
            return future.result() if wait else future
        if not wait:  # what the principal may read of the answer
            return self._shown_later(future, reader, instance_id)
        try:
            return self._shown(future.result(), reader)
        except REFUSALS as exc:
            shown = self._shown_refusal(exc, instance_id, reader)
            if shown is exc:
                raise
        raise shown  # outside the handler: the error naming the hidden states is not chained

    def receive(self, envelope: Envelope | bytes | str, *, verifier: EnvelopeVerifier,
                principal: Principal | None = None,
                trace_id: str | None = None) -> InstanceState:
        """Check an event that came from outside in an :class:`Envelope`, then send it.

        ``verifier`` checks its form, signature and age; its idempotency key makes a replay
        an answer from the mailbox (``outcome="duplicate"``), never a second step.  Then it
        is a :meth:`send` for ``principal``.  See ``docs/security.md``.

        Raises:
            EnvelopeMalformed, EnvelopeSignatureInvalid, EnvelopeExpired: refused before
                anything was queued (logged on ``statekeeper.envelopes``).
            EnvelopeReplayed: its key was used for another event or other data.
            NotAuthorized, EventNotAccepted, UnknownInstance: as :meth:`send`.

        """
        checked = self._verified(envelope, verifier)
        with self._refusals(checked):
            return self.send(checked.instance, checked.event, checked.data,  # type: ignore[no-any-return]
                             idempotency_key=checked.idempotency_key, trace_id=trace_id,
                             principal=principal)

    def get(self, instance_id: str, *, principal: Principal | None = None) -> InstanceState:
        """The instance's committed state, as ``principal`` may see it (see ``authorize``).

        Raises :class:`UnknownInstance`.
        """
        reader = self._reader(principal)
        state = self._get(instance_id)
        return state if reader is None else self._shown(state, reader)

    def history(self, instance_id: str, *, limit: int | None = None,
                after: int = 0) -> list[TransitionRecord]:
        """The instance's transition log, oldest first (rejected events included).

        ``after=seq`` returns only the rows after that one (an answer's ``rev`` is the ``seq``
        of the row its step wrote), for reading a log as it grows.
        """
        self._check_history(instance_id, limit, after)
        self.store.load(instance_id)
        return self.store.history(instance_id, limit=limit, after=after)

    def audit(self, *, instance: str | None = None, chart: str | None = None,
              actor: str | None = None, event: str | None = None, state: str | None = None,
              outcome: str | None = None, since: Time | None = None,
              until: Time | None = None, limit: int = 100,
              after: str | None = None) -> AuditPage:
        """Transition rows of every instance that pass every filter given, oldest first.

        ``state`` matches a row whose source or target holds it; ``outcome`` is
        ``applied``, ``rejected``, ``ignored``, ``migrated`` or ``denied``; ``since <= at <
        until`` (seconds of the client's clock, or datetimes).  ``limit`` rows a page: pass
        ``page.after`` as ``after=`` for the next (``None`` on the last page).

        Raises:
            ArgumentTypeError: a filter of the wrong type.
            InvalidArgument: an unknown outcome, a limit below 1, a cursor that is not one.

        """
        return self._audit(instance=instance, chart=chart, actor=actor, event=event,
                           state=state, outcome=outcome, since=since, until=until,
                           limit=limit, after=after)

    def prune_audit(self, *, older_than: str | float | timedelta,
                    archive: str | os.PathLike[str]) -> PruneReport:
        """Archive the log rows older than ``older_than`` to ``archive``, then delete them.

        The archive (JSON Lines, appended to) is written and ``fsync``-ed first; only then
        are exactly those rows deleted, in one transaction.  Each instance keeps its latest
        row.  See :mod:`statekeeper.runtime.retention`.

        Raises:
            ArchiveError: the archive cannot be written; nothing was deleted.
            InvalidArgument: ``older_than`` is not a duration.

        """
        return self._prune(older_than, archive)

    def query(self, *, chart: str | None = None, state: str | None = None,
              labels: Mapping[str, str] | None = None, status: str | None = None,
              limit: int = 100, after: str | None = None,
              principal: Principal | None = None) -> QueryPage:
        """Instances by chart, active state, labels and status, in id order, ``limit`` a page.

        Pass the last id of a page as ``after=`` for the next; an empty page is the end.  A
        corrupted instance row does not fail the query: it is left out, named in the page's
        ``corrupted`` and logged as a warning (see :class:`QueryPage`).  For a
        ``principal``, each instance as it may see it, matched by what it sees.
        """
        return self._shown_query(self._reader(principal), chart, state, labels, status,
                                 limit, after)

    def watch(self, instance_id: str | None = None, *, timeout: float | None = None,
              principal: Principal | None = None) -> Watch:
        """Iterate committed changes (of one instance, or of all) as they commit.

        The subscription starts now; iteration blocks for the next change and ends after
        ``timeout`` seconds without one.  Each change is what ``principal`` (or the
        client's default) may read of it.  Use it in a ``with`` block (or call
        ``close()``)::

            with client.watch("o-1") as changes:
                for state in changes:
                    print(state.configuration)
        """
        check_text("watch", "instance_id", instance_id, optional=True,
                   longest=self.limits.max_name_length)
        check_wait("watch", timeout)
        reader = self._reader(principal)
        return Watch(self._watchers, instance_id, timeout, self._closers,
                     None if reader is None else lambda state: self._shown(state, reader))

    def when(self, instance_id: str, state: str, *, timeout: float | None = None) -> InstanceState:
        """Block until ``state`` is active in the instance (or raise ``TimeoutError``).

        Raises:
            UnknownState: the instance's chart has no such state (it could never be reached;
                a KeyError).
            ArgumentTypeError, InvalidArgument: an id or state that is not a string.
            EngineClosed: the client was closed while waiting.
            UnknownInstance: there is no such instance.
            OperatorsOnly: the client reads for a principal who may not see ``state`` (a
                sensitive state of the chart's policy, or one below it).
            ValueError: ``timeout`` is not a number of seconds >= 0 (or None).

        """
        check_text("when", "instance_id", instance_id,
                   longest=self.limits.max_name_length)
        check_text("when", "state", state,
                   longest=self.limits.max_name_length)
        check_wait("when", timeout)
        reached = threading.Event()
        closed: list[bool] = []

        def check(changed: InstanceState) -> None:
            if changed.id == instance_id and changed.is_active(state):
                reached.set()

        def closing() -> None:
            closed.append(True)
            reached.set()

        self._watchers.append(check)
        self._closers.append(closing)
        try:
            current = self.get(instance_id)
            self._check_state(current, state)
            self._check_watchable(current, state)
            if current.is_active(state):
                return current
            if not reached.wait(timeout):
                raise TimeoutError(f"{instance_id!r} did not reach {state!r} in {timeout}s")
            if closed:
                raise EngineClosed
            return self.get(instance_id)
        finally:
            self._watchers.remove(check)
            self._closers.remove(closing)

    def migrate(self, chart: str | Chart | CompiledChart, to_version: int | str, *,
                dry_run: bool = True, batch: int = 500, actor: str | None = None,
                progress: Callable[[int, int], None] | None = None,
                lazy: bool = False) -> MigrationRun:
        """Move the live instances of ``chart`` to ``to_version`` through registered migrations.

        A dry run (the default) reads every live instance and reports, per instance, the
        target configuration and the data diff, and which cannot be mapped; it writes
        nothing.  The real run commits at most ``batch`` instances per transaction, each as
        one logged transition (``statekeeper.migrate``); an instance that cannot be mapped
        stays on its version and is reported.  Run it again after a crash: it picks up the
        instances still to move, and moves none twice.

        With ``lazy=True`` (and ``dry_run=False``) nothing is migrated now: from then on,
        each live instance is migrated, with the same logged transition, in the same
        transaction as its next event (a send, a timer, an effect's outcome), which is then
        stepped on ``to_version``.  Per process, like shadows: turn it on in each process
        that delivers events.  An instance whose migration fails stays on its version: a
        caller's event is refused with the error, a timer's or effect's event is kept as
        a dead letter.  See ``docs/versioning.md``.

        Raises:
            UnknownChart: ``to_version`` is not registered.
            NoMigrationPath: ``lazy``, and no registered migrations lead to ``to_version``
                from any other registered version.
            InvalidArgument: ``lazy=True`` with a dry run.

        """
        return self._migrate(chart, to_version, dry_run, batch, actor, progress, lazy)

    def shadow_report(self, chart: str, *, latest: int = 10) -> str:
        """The divergence table of ``chart``'s shadows from the store: every process's.

        What :meth:`Shadow.report <statekeeper.runtime.shadow.Shadow.report>` prints for
        this process, counted over every comparison of a committed step that any process
        stored, per pair of versions, then the ``latest`` divergences with their instance
        ids.  ``statekeeper shadow-report`` prints the same.
        """
        return self._shadow_report(chart, latest)

    def clear_shadow_log(self, chart: str) -> int:
        """Forget the stored shadow comparisons of ``chart`` (a shadow over); how many."""
        return self._clear_shadow_log(chart)

    def dead_letters(self, instance_id: str | None = None) -> list[DeadLetterRecord]:
        """Effects that exhausted their policy and undeliverable events, oldest first."""
        check_text("dead_letters", "instance_id", instance_id, optional=True,
                   longest=self.limits.max_name_length)
        self._operators_only("dead_letters")
        return self.store.dead_letters(instance_id)

    def dead_letter(self, letter_id: int) -> DeadLetterRecord:
        """One dead letter with its error history.  Raises :class:`UnknownDeadLetter`."""
        self._operators_only("dead_letter")
        return dead_letters.find(self.engine, letter_id)

    def replay_dead_letter(self, letter_id: int, *, actor: str | None = None,
                           principal: Principal | None = None) -> InstanceState:
        """Run a dead effect again, or deliver a dead event; logged with ``actor``.

        The effect keeps its idempotency key and gets its whole policy again.  A dead event
        is authorized like a send, for ``principal`` (or the client's default).

        Raises:
            NotAuthorized: the event's chart has a policy that refuses the principal; the
                letter stays.

        """
        check_text("replay_dead_letter", "actor", actor, optional=True, empty=True,
                   longest=self.limits.max_name_length)
        principal, actor = self._principal(principal, actor)
        state = dead_letters.replay(self.engine, letter_id, actor, principal).result()
        return state if principal is None else self._shown(state, principal)

    def discard_dead_letter(self, letter_id: int, *, actor: str | None = None) -> None:
        """Drop a dead letter for good; logged in the instance's history with ``actor``."""
        check_text("discard_dead_letter", "actor", actor, optional=True, empty=True,
                   longest=self.limits.max_name_length)
        done = dead_letters.discard(self.engine, letter_id, actor)
        if done is not None:
            done.result()

    def close(self, timeout: float | None = None) -> None:
        """Finish queued work and stop the engine and worker threads; close the store.

        Running effects are waited for, for at most ``timeout`` seconds when one is given
        (``None``: as long as they take).  One still running then is abandoned as if the
        process had died: its outcome is dropped, and once its lease ends it runs again, or,
        declared at-most-once, is answered with ``error.effect.<name>``.  Effects claimed but
        not started are given back at once.  Abandoned effects are logged (a warning on the
        ``statekeeper.runtime`` logger) with their keys.

        Raises:
            ValueError: ``timeout`` is not a number of seconds >= 0 (or None).

        """
        self._close(timeout)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
