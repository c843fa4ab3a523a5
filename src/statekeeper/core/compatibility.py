"""What changed between two versions of a chart, each change with its verdict.

Follows the compatibility matrix of the "State - Professional" practice: adding a state (a
terminal one included) or an event is *safe*; removing or renaming a state *needs a
migration* that maps the instances in it (*refused* when none does and instances are there);
changing where a transition goes, or dropping a transition, is *risky*, reported with the
number of instances in its source state (they will behave differently from the next event).
Pure: the instance counts are an argument, read by the runtime.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .migration import Migration
from .nodes import HISTORY, ROOT_ID

__all__ = ["Change", "CompatibilityReport", "compare_charts"]

Verdict = Literal["safe", "needs migration", "risky", "refused"]


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between the versions: what, where, its verdict, instances concerned."""

    kind: str
    state: str
    verdict: Verdict
    detail: str
    event: str | None = None
    instances: int = 0

    def __str__(self) -> str:
        where = f"{self.state}" + (f" on {self.event!r}" if self.event is not None else "")
        count = f" ({self.instances} instance(s) there)" if self.instances else ""
        return f"{self.verdict:>15}  {self.kind}: {where}: {self.detail}{count}"


@dataclass(frozen=True, slots=True)
class CompatibilityReport:
    """Every change from ``from_version`` to ``to_version`` of ``chart``."""

    chart: str
    from_version: str
    to_version: str
    changes: tuple[Change, ...]

    @property
    def refused(self) -> tuple[Change, ...]:
        """The changes that leave live instances with nowhere to go."""
        return tuple(c for c in self.changes if c.verdict == "refused")

    def __str__(self) -> str:
        head = f"chart {self.chart!r} v{self.from_version} -> v{self.to_version}"
        lines = [str(c) for c in self.changes] or ["no change"]
        return "\n".join([head, *lines])


def _states(chart: Any) -> dict[str, Any]:
    return {sid: n for sid, n in chart.nodes.items() if sid != ROOT_ID and n.kind != HISTORY}


def _events(node: Any) -> dict[str, tuple[str, ...]]:
    """Per event descriptor of ``node``'s own transitions, the targets of the first."""
    out: dict[str, tuple[str, ...]] = {}
    for transition in node.transitions:
        for event in transition.events:
            if event.startswith("statekeeper.after."):
                event = "after " + event.rsplit(".", 1)[-1]
            out.setdefault(event, tuple(t.id for t in transition.targets))
    return out


def compare_charts(old: Any, new: Any, migration: Migration | None = None,
                   counts: Mapping[str, int] | None = None) -> CompatibilityReport:
    """The changes from compiled chart ``old`` to ``new``.

    ``counts`` gives the live instances per active state id of ``old`` (any state of their
    configuration); ``migration`` the state map that would move them.
    """
    counts = counts or {}
    before, after = _states(old), _states(new)
    changes: list[Change] = []
    for sid, node in after.items():
        if sid not in before:
            terminal = "a terminal state" if node.kind == "final" else f"a new {node.kind} state"
            changes.append(Change("state added", sid, "safe", f"{terminal} added"))
    for sid in before:
        if sid in after and (migration is None or migration.target(sid) == sid):
            continue
        target = migration.target(sid) if migration is not None and (
            sid in migration.states) else None
        live = counts.get(sid, 0)
        if migration is not None and sid in migration.states:
            detail = f"mapped to {target!r}" if target is not None else "mapped to None"
            changes.append(Change("state removed or renamed", sid, "needs migration", detail,
                                  instances=live))
        else:
            changes.append(Change("state removed", sid, "refused" if live else "needs migration",
                                  "no migration maps it", instances=live))
    old_events = {e for n in before.values() for e in _events(n)}
    new_events = {e for n in after.values() for e in _events(n)}
    for event in sorted(new_events - old_events):
        changes.append(Change("event added", "*", "safe", "a new event", event=event))
    for sid, node in before.items():
        if sid not in after:
            continue
        was, now = _events(node), _events(after[sid])
        for event, targets in was.items():
            renamed = migration.outcomes.get(event) if migration is not None else None
            if event not in now and renamed in now:
                changes.append(Change("transition removed", sid, "needs migration",
                                      f"outcomes in flight are delivered as {renamed!r}",
                                      event=event, instances=counts.get(sid, 0)))
            elif event not in now:
                changes.append(Change("transition removed", sid, "risky",
                                      f"no longer taken (was to {list(targets)})", event=event,
                                      instances=counts.get(sid, 0)))
            elif now[event] != targets:
                changes.append(Change("transition target changed", sid, "risky",
                                      f"{list(targets)} -> {list(now[event])}", event=event,
                                      instances=counts.get(sid, 0)))
    return CompatibilityReport(old.name, str(old.version), str(new.version), tuple(changes))
