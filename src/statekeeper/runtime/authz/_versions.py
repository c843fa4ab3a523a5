"""A policy held against a chart's versions: names it uses that the chart must have.

Apart from :mod:`._policy` for size: these checks run when a policy or a version is
registered, never per event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...core.compile import CompiledChart
from ._policy import HIDDEN, InvalidPolicy, Policy

__all__ = ["check_version", "takes", "validate"]


def validate(policy: Any, chart: str, versions: Sequence[CompiledChart]) -> None:
    """Refuse a policy that names an event or state no registered version of ``chart`` has.

    Raises:
        InvalidPolicy: not a :class:`Policy`, or a name the chart does not have (a typo would
            otherwise leave the real event unguarded or a state unprotected).

    """
    if not isinstance(policy, Policy):
        raise InvalidPolicy(f"authorize() takes a Policy, not {policy!r}")
    for event in policy.events:
        if not any(takes(c, event) for c in versions):
            raise InvalidPolicy(f"chart {chart!r} has no transition on event {event!r}: "
                                f"check the name (no registered version takes it)")
    for state in policy.states:
        if not any(state in c.nodes for c in versions):
            raise InvalidPolicy(f"chart {chart!r} has no state {state!r} (in no registered "
                                f"version)")
    if policy.restricts_reads:
        _validate_reads(policy, chart, versions)


def _validate_reads(policy: Policy, chart: str, versions: Sequence[CompiledChart]) -> None:
    """Public fields the chart's data model declares; no state that reads as the neutral one."""
    declared = {item.id for c in versions for _, item in c.data_items}
    if declared and policy.public:
        unknown = sorted(policy.public - declared)
        if unknown:
            raise InvalidPolicy(f"Policy public= names {unknown[0]!r}, which chart {chart!r} "
                                f"does not declare (its data: {', '.join(sorted(declared))}); "
                                f"check the name")
    if policy.states and any(HIDDEN in c.nodes for c in versions):
        raise InvalidPolicy(f"chart {chart!r} has a state named {HIDDEN!r}, the state a "
                            f"principal without reading rights sees for a sensitive one: "
                            f"rename it")


def check_version(policy: Policy, chart: CompiledChart) -> None:
    """Refuse a version, registered after its chart's policy, that lacks a name it uses.

    Why refuse rather than register: a version that renamed ``refunded`` to ``Refunded``
    would start instances whose sensitive state nobody protects, and one that renamed an
    event would leave the new name to ``unlisted``.  Registering every version before
    authorizing (what :meth:`~statekeeper.client.Client.authorize` asks) checks the policy
    against all of them together instead, so a version may drop a name on purpose.

    Raises:
        InvalidPolicy: the version has no transition on an event, or no state, that the
            policy names; nothing was registered.

    """
    where = f"chart {chart.name!r} version {chart.version}"
    todo = (f"register it before authorizing (client.authorize({chart.name!r}, None), "
            f"register every version, then authorize a policy that fits them), or fix the name")
    for event in policy.events:
        if not takes(chart, event):
            raise InvalidPolicy(f"{where} has no transition on event {event!r}, which the "
                                f"chart's policy names: {todo}")
    for state in policy.states:
        if state not in chart.nodes:
            raise InvalidPolicy(f"{where} has no state {state!r}, which the chart's policy "
                                f"protects: {todo}")


def takes(chart: CompiledChart, event: str) -> bool:
    """Whether a transition of ``chart`` matches ``event``."""
    return any(t.matches(event) for node in chart.states for t in node.transitions)
