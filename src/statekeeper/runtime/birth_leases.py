"""New effects leased to this process's worker in the commit that writes them.

Why: an effect written by a step used to be claimed afterwards, by the worker, in a write
transaction of its own (``UPDATE ... RETURNING`` under ``BEGIN IMMEDIATE``, then a ``COMMIT``
that fsyncs at ``synchronous=FULL``), followed by a read of its instance to find its function.
Under a stream of steps with effects that was an extra fsync'd transaction for every few
group commits, waiting for the writer lock between them.  When a worker runs in the process
that commits, the outbox row is written already leased to it (``running``, one attempt, the
worker as owner until ``now + lease``) and handed to the worker once the commit is durable,
with the instance row that names its chart.  The guarantees stay those of a claim: the row is
durable before the effect runs; if the process dies, the lease runs out and another worker
claims the effect (the same idempotency key); a lease is extended while the effect runs.

Left to the ordinary claim: effects that are not runnable yet (a delayed send), and
at-most-once effects (a crash between the commit and the call would otherwise count as an
interrupted attempt and answer ``error.effect`` for an effect that never ran).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..core._records import positional_constructor
from ..storage.records import EffectRecord, InstanceRecord
from .planner import Plan
from .requests import Request

__all__ = ["Handed", "Lessee", "handed_to", "lease_at_birth"]

#: a leased effect and the instance row (chart, version, structure) that wrote it
Handed = tuple[EffectRecord, InstanceRecord]

# every field, positionally: one leased row per new effect, in the engine's thread
_new_effect = positional_constructor(EffectRecord)


class Lessee(Protocol):
    """A worker that takes new effects straight from the commit (:class:`~.worker.Worker`)."""

    owner: str
    lease: float

    def take(self, effects: list[Handed]) -> None:
        """Run these effects, leased to ``owner``; called after their commit is durable."""


def lease_at_birth(planned: Sequence[tuple[Request, Plan]], owner: str, lease: float, now: float) -> None:
    """Write the runnable new effects of ``planned`` leased to ``owner``, in place.

    A plan whose effects are all leased so no longer wakes the worker's claim.  Effects
    already leased (a group written again commit by commit) are left as they are.
    """
    for _, plan in planned:
        commit = plan.commit
        if commit is None or not commit.effects:
            continue
        pending = False
        effects = []
        for effect in commit.effects:
            if effect.status == "pending" and effect.lease_owner is None:
                if effect.at_most_once or effect.available_at > now:
                    pending = True
                else:  # every field, positionally: dataclasses.replace costs ~5 times more
                    effect = _new_effect(  # key instance name args status attempts ...
                        effect.key, effect.instance, effect.name, effect.args, "running", 1,
                        effect.available_at, owner, now + lease,  # ... lease_owner, _until
                        effect.at_most_once, effect.last_error, effect.errors,
                        effect.created_at, effect.id, effect.traceparent)
            effects.append(effect)
        commit.effects = effects
        if not pending:
            plan.wake_effects = False


#: one per effect a step writes, on the engine's thread (core/_records.py says why)
_new_effect = positional_constructor(EffectRecord)


def handed_to(owner: str, planned: Sequence[tuple[Request, Plan]], lost: set[int]) -> list[Handed]:
    """The effects of the committed plans leased to ``owner``, with their instance rows.

    ``lost`` holds the ids of the commits that were not written (their effects do not exist).
    """
    handed: list[Handed] = []
    for _, plan in planned:
        commit = plan.commit
        if commit is None or not commit.effects or id(commit) in lost:
            continue
        for effect in commit.effects:
            if effect.lease_owner == owner and effect.status == "running":
                handed.append((effect, commit.instance))
    return handed
