"""Lazy migration: an instance on an older version is migrated right before its next event.

Turned on per chart by ``client.migrate(chart, version, dry_run=False, lazy=True)``
(:meth:`~statekeeper.runtime.registry.Registry.migrate_lazily`).  Then any event delivered
to a live instance on a version a chain of registered migrations leads from (a caller's
send, a timer firing, an effect's outcome) first migrates it, with the same logged
transition a batch writes (:func:`~.migrate.migration_commit`: event ``statekeeper.migrate``,
old and new version and configuration, the path; the actor is the event's), and the event
is then stepped on the new version.

Why two commits written in one transaction, not one commit: each commit bumps an
instance's ``rev`` by one and writes the log row of that ``seq`` (the store's rule, by which
"applied exactly once" is read from the log alone), and a migration and a step are two log
rows.  The planner returns the event's plan with the migration's commit beside it
(:attr:`Plan.migration <statekeeper.runtime.planner.Plan.migration>`), and the engine writes
the two in order in the same group commit.  A crash keeps both or neither.  When the
migration's commit loses its ``rev`` check the store loses the event's too (it was built on
it), and the event is planned again on the fresh row; when only the event's commit loses (an
effect's lease taken over meanwhile), the instance is migrated, completely, and the event is
settled or planned again as after any conflict.  No instance is ever half-migrated.

A timer: under the ``keep`` policy the migration renames a pending ``after`` timer to the
mapped state's timer with the same due time, so the delivery fires that timer, with its
event, on the new version.  Under ``rearm`` and ``cancel`` the migration drops the old timer
(a re-armed one fires at its new time): the delivery is logged as ignored.  An effect's
outcome is delivered under the name the migration's ``outcomes`` give it, as after a batch.

A migration that fails (its data map raises, say) writes nothing and leaves the instance on
its version.  A caller's event is then refused with the error (``DataMapFailed``, a
``MigrationError``), not applied on the old version; a timer's or effect's event is kept as
a dead letter (the planner's ``plan_poisoned``), to replay once the migration is fixed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..core._migrate_map import renamed_timer
from ..core.events import Event
from ..core.migration import Migration, MigrationError
from ..core.snapshot import Snapshot
from ..storage.records import Commit, InstanceRecord
from .migrate import migration_commit
from .registry import Registry
from .requests import DeliverEvent

__all__ = ["Moved", "migrate_first"]

@dataclass(frozen=True, slots=True)
class Moved:
    """An instance migrated before an event: the migration's commit and what it leaves.

    ``request`` is the delivery as the new version takes it (a timer renamed by the
    migration fires under its new id); its answer is the original request's.
    """

    request: DeliverEvent
    record: InstanceRecord
    snapshot: Snapshot
    commit: Commit


def migrate_first(request: DeliverEvent, record: InstanceRecord, snapshot: Snapshot,
                  registry: Registry, now: float) -> Moved | None:
    """The lazy migration ``request`` triggers, or ``None`` (none is due for the instance).

    ``snapshot`` is the one ``record`` holds, already checked against its chart.

    Raises:
        MigrationError: the instance cannot be migrated (``DataMapFailed`` when its data
            map raised); nothing is planned.

    """
    if record.status != "active" or snapshot.done:
        return None  # finished: no version will step it again
    found = registry.lazy_path(record.chart, record.version)
    if found is None:
        return None
    target, path = found
    try:
        _, commit, after = migration_commit(registry, record, snapshot, path, target, now,
                                            request.actor)
    except MigrationError:
        raise
    except Exception as exc:  # a chart of the chain refused the mapped state, say
        raise MigrationError(f"instance {record.id!r}: its lazy migration from "
                             f"v{record.version} to v{target} failed: "
                             f"{type(exc).__name__}: {exc}") from exc
    return Moved(_retarget(request, snapshot, after, path), commit.instance, after, commit)


def _retarget(request: DeliverEvent, before: Snapshot, after: Snapshot,
              path: list[Migration]) -> DeliverEvent:
    """``request`` as the migrated instance takes it: a renamed timer fires as itself.

    An effect's outcome the migrations rename (``outcomes``) arrives under its new name even
    when it comes without its outbox row: replayed from the dead letter a failed lazy
    migration made of it (the planner renames those that close their row).
    """
    timer_id = request.timer_id
    if timer_id is None:
        name = request.event.name
        for migration in path:
            name = migration.outcomes.get(name, name)
        if request.strict or name == request.event.name:
            return request
        return dataclasses.replace(request, event=dataclasses.replace(request.event, name=name))
    if timer_id not in before.timers or timer_id in after.timers:
        return request
    if request.timer_due is not None and before.timers[timer_id].get("due") != request.timer_due:
        return request  # a firing of the timer before it was re-armed: stale, and stays so
    renamed: str | None = timer_id
    for migration in path:
        renamed = renamed_timer(migration, renamed) if renamed is not None else None
    pending = after.timers.get(renamed) if renamed is not None else None
    if pending is None or pending.get("due") != before.timers[timer_id].get("due"):
        return request  # re-armed or cancelled by the migration: the old firing is stale
    fired = before.timers[timer_id].get("event", {}).get("name")
    # the timer's own event under its new name; anything else (a skip) as it came
    event = Event.from_dict(pending["event"]) if request.event.name == fired else request.event
    return dataclasses.replace(request, event=event, timer_id=renamed,
                               timer_due=pending.get("due"))
