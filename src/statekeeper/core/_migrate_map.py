"""Map one snapshot through a :class:`~statekeeper.core.migration.Migration`: pure.

The configuration goes through the state map, then is completed the way SCXML enters states
(ancestors of every mapped state, the default entry of each compound state left without an
active child, every region of each parallel state), and must then be a legal configuration
of the new chart.  No entry or exit action runs: a migration moves an instance, it does not
step it (the data map sets whatever an entry would have).  Timers follow the migration's
policy; history is carried through the state map or dropped.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Any

from ._restore import configuration_problems
from .compile import AFTER_PREFIX
from .durations import parse_duration
from .errors import InvalidPayload, LimitExceeded
from .events import SCXML_PROCESSOR, Event
from .migration import DataMapFailed, Migration, MigrationError
from .nodes import COMPOUND, PARALLEL, ROOT_ID, Node
from .payload import check_payload
from .snapshot import Snapshot

__all__ = ["Migrated", "migrate_snapshot", "renamed_timer"]


@dataclass(frozen=True, slots=True)
class Migrated:
    """A snapshot moved to the new version, and the timer changes its store rows need.

    ``timers_set`` are the new snapshot's timers that are new or changed (by id),
    ``timers_cancelled`` the old timer ids the new snapshot no longer holds.
    """

    snapshot: Snapshot
    timers_set: dict[str, dict[str, Any]]
    timers_cancelled: tuple[str, ...]


def migrate_snapshot(migration: Migration, old: Any, new: Any, snapshot: Snapshot, *,
                     now: float) -> Migrated:
    """``snapshot`` of compiled chart ``old`` as a snapshot of ``new`` at time ``now``.

    Raises:
        MigrationError: the instance is finished, or the mapped configuration is not legal
            in the new chart (two siblings at once, say); the message names the instance.
        DataMapFailed: the data map raised, or returned something that is not a dict JSON
            can hold.

    """
    snapshot.check(old)
    if snapshot.done:  # its life is over: no version will step it again
        raise MigrationError(f"instance {snapshot.session!r} is finished: there is nothing to "
                             f"migrate")
    configuration = _configuration(migration, new, snapshot)
    data = _data(migration, snapshot)
    history = _history(migration, new, snapshot)
    timers = _timers(migration, new, snapshot, configuration, now)
    moved = replace(snapshot, chart=new.name, version=new.version, hash=new.hash,
                    configuration=configuration, data=data, history=history, timers=timers)
    changed = {k: v for k, v in timers.items() if snapshot.timers.get(k) != v}
    gone = tuple(k for k in snapshot.timers if k not in timers)
    return Migrated(moved, changed, gone)


def _configuration(migration: Migration, new: Any, snapshot: Snapshot) -> tuple[str, ...]:
    active: set[Node] = set()

    def enter(node: Node) -> None:
        active.add(node)
        active.update(a for a in node.ancestors if a.id != ROOT_ID)

    for sid in snapshot.configuration:
        target = migration.target(sid)
        if target is not None:
            enter(new.nodes[target])
    if not active and new.root.initial is not None:  # everything mapped to None
        for node in new.root.initial.targets:
            enter(node)
    changed = True
    while changed:  # complete: default entries and regions, until nothing is missing
        changed = False
        for node in list(active):
            if node.kind == PARALLEL:
                missing = [c for c in node.children if c.kind != "history" and c not in active]
                for child in missing:
                    enter(child)
                changed = changed or bool(missing)
            elif node.kind == COMPOUND and not any(c in active for c in node.children):
                assert node.initial is not None
                for default in node.initial.targets:
                    enter(default)
                changed = True
    ordered = tuple(n.id for n in sorted(active, key=lambda n: n.order))
    problems = configuration_problems(new, ordered)
    if problems:
        raise MigrationError(f"instance {snapshot.session!r}: {migration.label} maps "
                             f"{list(snapshot.configuration)} to {list(ordered)}, which "
                             f"v{new.version} cannot hold: {'; '.join(problems)}")
    return ordered


def _data(migration: Migration, snapshot: Snapshot) -> dict[str, Any]:
    if migration.data is None:
        return snapshot.data
    try:
        data = migration.data(copy.deepcopy(snapshot.data))
    except Exception as exc:
        raise DataMapFailed(snapshot.session, f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(data, dict):
        raise DataMapFailed(snapshot.session, f"it returned {type(data).__name__}, not a dict")
    try:
        check_payload(data, what="migrated data")
    except (InvalidPayload, LimitExceeded) as exc:
        raise DataMapFailed(snapshot.session, f"it returned data the new version cannot "
                                              f"hold: {exc}") from None
    return data


def _history(migration: Migration, new: Any, snapshot: Snapshot) -> dict[str, tuple[str, ...]]:
    if migration.history == "drop":
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for hid, states in snapshot.history.items():
        target = migration.target(hid)
        node = new.nodes.get(target) if target is not None else None
        if node is None or node.kind != "history" or node.parent is None:
            continue
        mapped = [migration.target(s) for s in states]
        kept = tuple(s for s in mapped if s is not None and s in new.nodes
                     and new.nodes[s] in node.parent.descendants)
        if kept and len(kept) == len(mapped):  # a partial record would restore a wrong state
            out[target] = kept  # type: ignore[index]
    return out


def _after_id(state: str, index: int) -> str:
    return f"{AFTER_PREFIX}{state}.{index}"


def _afters(new: Any, node: Node) -> list[tuple[str, float, str | None]]:
    """The ``after`` timers entering ``node`` arms: (timer id, delay, late policy)."""
    spec = new._specs.get(node.id)  # the definition of the node (kept by compile)
    if spec is None:
        return []
    out = []
    for index, (delay, targets) in enumerate(spec.after_transitions.items()):
        late = next((t.late for t in targets if t.late is not None), None)
        out.append((_after_id(node.id, index), parse_duration(delay), late))
    return out


def renamed_timer(migration: Migration, timer_id: str) -> str | None:
    """The id an ``after`` timer gets under ``migration``'s ``keep`` policy (``None``: none).

    The mapped state's timer of the same index; whether the new chart arms one there is the
    caller's to check (a timer the new state does not have is dropped).
    """
    if not timer_id.startswith(AFTER_PREFIX):
        return None
    state, _, index = timer_id[len(AFTER_PREFIX):].rpartition(".")
    target = migration.target(state)
    return _after_id(target, int(index)) if target is not None and index.isdigit() else None


def _timers(migration: Migration, new: Any, snapshot: Snapshot,
            configuration: tuple[str, ...], now: float) -> dict[str, dict[str, Any]]:
    if migration.timers == "cancel":
        return {}
    wanted = {tid: (delay, late) for sid in configuration
              for tid, delay, late in _afters(new, new.nodes[sid])}
    timers: dict[str, dict[str, Any]] = {}
    for tid, timer in snapshot.timers.items():
        if not tid.startswith(AFTER_PREFIX):
            timers[tid] = timer  # a delayed send of the chart's own: kept as it is
            continue
        if migration.timers == "rearm":
            continue
        new_id = renamed_timer(migration, tid)
        if new_id in wanted and new_id not in timers:  # keep its due time, under its new id
            event = dict(timer["event"], name=new_id, sendid=new_id)
            timers[new_id] = dict(timer, event=event)
    for tid, (delay, late) in wanted.items():
        if tid not in timers:
            armed = Event(tid, None, "external", tid, f"#_scxml_{snapshot.session}",
                          SCXML_PROCESSOR)
            timers[tid] = {"due": now + delay, "event": armed.to_dict(), "target": None}
            if late is not None:
                timers[tid]["late"] = late
    return timers
