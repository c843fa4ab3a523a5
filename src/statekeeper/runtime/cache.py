"""The engine's recently used instances: each as its row was read or last committed.

Why a cache: the engine is the one writer of its instances' commits, so what it committed last
is what the store holds (a commit that lost its ``rev`` check drops its entry).  Planning an
event on a cached instance costs no read.  Idle instances fall out, oldest first, so memory
follows the working set, not the number of instances.

A row read from the store is not yet known to be a state of its chart: it is checked by its
first delivery (``is_unchecked``), once, not on every event.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence

from ..core.errors import SnapshotError
from ..core.snapshot import Snapshot
from ..storage.base import IntegrityError, Store
from ..storage.records import InstanceRecord, MailboxRecord
from .requests import DeliverEvent, Request, StartInstance
from .rows import snapshot_from_row

__all__ = ["InstanceCache"]

_log = logging.getLogger("statekeeper.runtime")
#: no idempotency key read ahead (shared: the engine only reads it)
_NO_KEYS: Mapping[tuple[str, str], MailboxRecord | None] = {}


class InstanceCache:
    """At most ``size`` instances, least recently used first out."""

    __slots__ = ("rows", "size", "store", "unchecked")

    def __init__(self, store: Store, size: int) -> None:
        self.store = store
        self.size = size
        #: the cached instances, least recently used first (read it, change it through methods)
        self.rows: OrderedDict[str, tuple[InstanceRecord, Snapshot]] = OrderedDict()
        #: ids of instances read from a row whose snapshot no delivery has checked yet
        self.unchecked: set[str] = set()

    def read(self, instance_id: str) -> tuple[InstanceRecord, Snapshot]:
        """The instance as cached, or as read from the store (then cached).

        Raises:
            UnknownInstance: no such instance.
            IntegrityError: its row holds no readable snapshot.

        """
        cached = self.rows.get(instance_id)
        if cached is not None:
            self.rows.move_to_end(instance_id)
            return cached
        record = self.store.load(instance_id)
        try:
            snapshot = snapshot_from_row(record)
        except SnapshotError as exc:
            raise IntegrityError(f"instance {instance_id!r}: {exc}") from None
        self.unchecked.add(instance_id)  # checked against its chart by its first delivery
        self.remember(instance_id, record, snapshot)
        return record, snapshot

    def prefetch(self, missing: list[str]) -> None:
        """Read the instances of ``missing`` (ids not in :attr:`rows`), in one store read.

        For a group about to be planned: one read instead of one per instance.  An instance
        that is unknown or unreadable is left for :meth:`read`, whose error then reaches only
        the request that names it.
        """
        missing = list(dict.fromkeys(missing))  # an instance named twice is read once
        if len(missing) < 2:
            return  # one alone is read when it is planned, as before
        for instance_id, record in self.store.load_many(missing).items():
            try:
                snapshot = snapshot_from_row(record)
            except SnapshotError:
                continue
            self.unchecked.add(instance_id)
            self.remember(instance_id, record, snapshot)

    def prefetch_group(self, batch: Sequence[Request]
                       ) -> Mapping[tuple[str, str], MailboxRecord | None]:
        """Read what a group will need in two reads: its instances, then its keys.

        Returns the idempotency keys read ahead: the first result recorded for each, or
        ``None`` if it was not seen.  The instances first and the mailbox second, as the
        engine reads one request's (see ``Engine._plan``).  A failed read is not an error
        here: each request then reads alone, and hears of its own failure.
        """
        rows = self.rows
        cold = [r.instance for r in batch
                if r.__class__ is not StartInstance and r.instance not in rows]
        keys = [(r.instance, r.idempotency_key) for r in batch  # nor a timer's or an outcome's
                if r.__class__ is DeliverEvent and r.idempotency_key and not r.row_guarded]
        if len(cold) < 2 and len(keys) < 2:
            return _NO_KEYS  # the usual small group of cached instances: nothing to gain
        try:
            self.prefetch(cold)
            if len(keys) > 1:
                read: dict[tuple[str, str], MailboxRecord | None] = dict.fromkeys(keys)
                read.update(self.store.mailboxes(keys))
                return read
        except Exception:  # noqa: BLE001 - read again request by request
            _log.debug("prefetch failed; reading request by request", exc_info=True)
        return _NO_KEYS

    def remember(self, instance_id: str, record: InstanceRecord, snapshot: Snapshot) -> None:
        """Keep ``instance_id`` as committed; the least recently used fall out past ``size``."""
        rows = self.rows
        rows[instance_id] = (record, snapshot)
        rows.move_to_end(instance_id)
        while len(rows) > self.size:
            evicted, _ = rows.popitem(last=False)
            self.unchecked.discard(evicted)

    def committed(self, instance_id: str, record: InstanceRecord, snapshot: Snapshot) -> None:
        """Keep an instance as just committed, unless it finished: then drop it.

        A finished instance leaves the working set: few events reach it after its last step,
        and each is refused or ignored after one read.  Keeping it would hold its objects
        for ``size`` more steps, long enough for the cyclic GC to promote them to its oldest
        generation, and each full collection visits every object held there: with timers
        that end their instance, a full cache made each fire pay for it (docs/durable.md,
        "Timers under load").
        """
        if snapshot.done:
            self.forget(instance_id)
        else:
            self.remember(instance_id, record, snapshot)

    def forget(self, instance_id: str) -> None:
        """Drop one instance (its commit was lost: the store holds another state now)."""
        self.rows.pop(instance_id, None)
        self.unchecked.discard(instance_id)  # a later read marks it again

    def clear(self) -> None:
        """Drop everything (after an error that may have left the store unlike the cache)."""
        self.rows.clear()
        self.unchecked.clear()
