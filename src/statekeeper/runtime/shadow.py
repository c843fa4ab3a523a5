"""Shadow execution: every live event of one version is also stepped on another, purely.

Why: a migration says where an instance goes; it cannot say whether the new version then
behaves as the old one did.  While a shadow is on, each event delivered to an instance of
the old version is committed as ever (the old version's result), and is also stepped,
purely, on the instance as migrated to the new version; the new result is compared with the
old result migrated the same way.  A difference in configuration, data, commands (effects
run, events sent) or acceptance is a divergence, counted per source state and event and
logged with the instance id.  Nothing of the shadow step is committed or run.

Timer and effect-outcome deliveries are shadowed too, as the migrations carry them over: a
timer kept by the migration fires under its new id, an outcome is delivered under the name
the migrations' ``outcomes`` give it; a timer the migration re-arms or cancels has no
counterpart and is not compared.  Finished instances are not shadowed.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..core._migrate_map import migrate_snapshot, renamed_timer
from ..core.commands import Command, RunEffect, SendEvent
from ..core.events import Event
from ..core.migration import Migration
from ..core.snapshot import Snapshot
from ..core.step import step
from ..storage.records import ShadowRecord

__all__ = ["Divergence", "Shadow", "divergence_table"]

_log = logging.getLogger("statekeeper.shadow")


@dataclass(frozen=True, slots=True)
class Divergence:
    """One event on which the new version did not do what the old one did."""

    instance: str
    state: str
    event: str
    kinds: tuple[str, ...]
    expected: tuple[str, ...]
    got: tuple[str, ...]


@dataclass(slots=True)
class Shadow:
    """A shadow of ``chart`` v``source`` on v``target``; see the module docstring.

    ``chain`` is the migrations from the old version to the new one with both compiled
    charts of each.  ``counts`` holds, per (state, event), how many events were compared
    and how many diverged, by kind.
    """

    chart: str
    source: str
    target: str
    new: Any
    chain: Sequence[tuple[Migration, Any, Any]]
    compared: Counter[tuple[str, str]] = field(default_factory=Counter)
    diverged_events: Counter[tuple[str, str]] = field(default_factory=Counter)
    diverged: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)
    last: list[Divergence] = field(default_factory=list)
    #: per instance, comparisons of steps not yet committed, with the ``rev`` they commit at
    pending: dict[str, list[tuple[int, ShadowRecord]]] = field(default_factory=dict)
    #: called with each comparison kept in :attr:`pending` (the store's recorder, which
    #: writes those that landed once the engine's group is done)
    on_pending: Callable[[], None] | None = None

    def _migrated(self, snapshot: Snapshot, now: float) -> Snapshot:
        for migration, old, new in self.chain:
            snapshot = migrate_snapshot(migration, old, new, snapshot, now=now).snapshot
        return snapshot

    def observe(self, instance: str, before: Snapshot, event: Event, now: float,
                after: Snapshot, status: str, commands: Sequence[Command], *,
                rev: int | None = None, timer: str | None = None,
                outcome: bool = False) -> None:
        """Compare the old version's step (``after``, ``status``, ``commands``) with the new's.

        ``timer``: the id of the timer the event fires; ``outcome``: the event is an effect's
        outcome.  Either is delivered to the new version as the migrations carry it over (the
        renamed timer, the renamed outcome), and not compared where they leave it none (a
        timer re-armed or cancelled).  ``rev``: the instance's ``rev`` once the step commits;
        the comparison is then kept in :attr:`pending` until the commit lands
        (:mod:`.shadow_log` writes it to the store).
        """
        state = ",".join(s for s in before.configuration)
        key = (state, event.name)
        try:
            migrated = self._migrated(before, now)
        except Exception as exc:  # noqa: BLE001 - the shadow never fails the real step
            self.compared[key] += 1
            found: tuple[list[str], tuple[str, ...], tuple[str, ...]] = (
                ["unmappable"], (type(exc).__name__,), (str(exc),))
            self._diverged(instance, key, *found)
        else:
            translated = self._translate(event, before, migrated, timer, outcome)
            if translated is None:
                return  # no counterpart in the new version: nothing to compare
            self.compared[key] += 1
            found = self._compare(instance, migrated, *translated, now, after, status,
                                  commands, key)
        if rev is not None:
            kinds, expected, got = found
            self.pending.setdefault(instance, []).append((rev, ShadowRecord(
                chart=self.chart, from_version=self.source, to_version=self.target,
                instance=instance, state=state, event=event.name, kinds=kinds,
                expected=expected, got=got, at=now)))
            if self.on_pending is not None:
                self.on_pending()

    def _translate(self, event: Event, before: Snapshot, migrated: Snapshot,
                   timer: str | None, outcome: bool) -> tuple[Event, str | None] | None:
        """The delivery as the new version would get it: (event, timer id), or ``None``."""
        if outcome:
            name = event.name
            for migration, _, _ in self.chain:
                name = migration.outcomes.get(name, name)
            return (event if name == event.name else replace(event, name=name)), None
        if timer is None:
            return event, None
        pending = before.timers.get(timer)
        if pending is None:
            return None  # stale: the step only keeps the books
        renamed: str | None = timer
        if timer not in migrated.timers:
            for migration, _, _ in self.chain:
                renamed = renamed_timer(migration, renamed) if renamed is not None else None
        carried = migrated.timers.get(renamed) if renamed is not None else None
        if carried is None or carried.get("due") != pending.get("due"):
            return None  # re-armed or cancelled by the migration
        same = event.name == pending.get("event", {}).get("name")
        return (Event.from_dict(carried["event"]) if same else event), renamed

    def _compare(self, instance: str, migrated: Snapshot, event: Event, timer: str | None,
                 now: float, after: Snapshot, status: str, commands: Sequence[Command],
                 key: tuple[str, str]) -> tuple[list[str], tuple[str, ...], tuple[str, ...]]:
        kinds: list[str] = []
        try:
            shadow = step(self.new, migrated, event, now=now, timer=timer)
        except Exception as exc:  # noqa: BLE001 - the shadow never fails the real step
            found = (type(exc).__name__,), (str(exc),)
            self._diverged(instance, key, ["unmappable"], *found)
            return ["unmappable"], *found
        if (status == "rejected") != (shadow.status == "rejected"):
            kinds.append("accepted")
        expected = self._migrated(after, now) if status != "rejected" and not after.done \
            else after
        got = shadow.snapshot
        if status != "rejected" and expected.configuration != got.configuration:
            kinds.append("configuration")
        if status != "rejected" and expected.data != got.data:
            kinds.append("data")
        if _outward(commands) != _outward(shadow.commands):
            kinds.append("commands")
        if kinds:
            self._diverged(instance, key, kinds, expected.configuration, got.configuration)
        return kinds, expected.configuration, got.configuration

    def _diverged(self, instance: str, key: tuple[str, str], kinds: list[str],
                  expected: tuple[str, ...], got: tuple[str, ...]) -> None:
        self.diverged.setdefault(key, Counter()).update(kinds)
        self.diverged_events[key] += 1
        found = Divergence(instance, key[0], key[1], tuple(kinds), expected, got)
        self.last = [*self.last[-99:], found]
        _log.warning("shadow %s v%s -> v%s: instance %r, %s on %r diverged (%s): expected "
                     "%s, got %s", self.chart, self.source, self.target, instance, key[0],
                     key[1], ", ".join(kinds), list(expected), list(got))

    def report(self) -> str:
        """The divergence table: per state and event, events compared and diverged, by kind.

        This process's own counts; ``client.shadow_report(chart)`` (and ``statekeeper
        shadow-report``) print the same table from the store, for every process.
        """
        return divergence_table(self.chart, self.source, self.target, self.compared,
                                self.diverged_events, self.diverged)


def divergence_table(chart: str, source: str, target: str,
                     compared: Counter[tuple[str, str]],
                     diverged_events: Counter[tuple[str, str]],
                     diverged: dict[tuple[str, str], Counter[str]]) -> str:
    """The table :meth:`Shadow.report` prints, from counts per (state, event)."""
    head = f"shadow of {chart!r} v{source} on v{target}"
    rows = [f"{'state':<40} {'event':<24} {'compared':>8} {'diverged':>8}  kinds"]
    for (state, event), count in sorted(compared.items()):
        kinds = diverged.get((state, event), Counter())
        total = diverged_events[(state, event)]
        shown = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
        rows.append(f"{state:<40} {event:<24} {count:>8} {total:>8}  {shown}")
    return "\n".join([head, *rows])


def _outward(commands: Sequence[Command]) -> list[tuple[str, str]]:
    """What a step asks of the world: effects by name, events sent by name."""
    out = [("effect", c.name) for c in commands if isinstance(c, RunEffect)]
    out += [("send", c.event.name) for c in commands if isinstance(c, SendEvent)]
    return sorted(out)
