"""The checks run on a caller's event, start or step, and the record of a refusal.

Apart from :mod:`._policy` (what a policy is) for size; these run on the hot path of an
authorized chart, so each reads the instance only when a guard asks for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence, Set

from ...core.commands import Microstep
from ...storage.records import InstanceRecord
from ..state import InstanceState
from ._policy import START, Allow, Policy, Principal

__all__ = [
    "UNSEEN_STATE_REASON",
    "check_entered",
    "check_event",
    "check_start",
    "entering_reason",
    "log_denied",
]

#: a refusal's reason as a principal without reading rights is told it (the reason that
#: names the sensitive state stays in the ``denied`` log row, the operators' view)
UNSEEN_STATE_REASON = "the step would enter a state this principal may not enter"

_log = logging.getLogger("statekeeper.authz")


def check_event(policy: Policy, principal: Principal | None, event: str,
                record: InstanceRecord) -> str | None:
    """Why ``principal`` may not send ``event`` to the instance of ``record``; ``None``: it may.

    A guard that raises refuses (and is logged): a broken guard must not let callers through.
    """
    rules = policy.rules_for(event)
    if rules is None:
        if policy.unlisted == "allow":
            return None
        return f"the policy of chart {record.chart!r} does not name event {event!r}"
    view: list[InstanceState] = []

    def instance() -> InstanceState:
        if not view:
            view.append(InstanceState.from_record(record))
        return view[0]

    return _refusal(rules, principal, instance, event, record.chart)


def check_start(policy: Policy, principal: Principal | None,
                asked: InstanceState) -> str | None:
    """Why ``principal`` may not start the instance ``asked`` for; ``None``: it may.

    ``asked`` is the instance as the caller asks for it (no configuration yet): the start's
    guards see its id, chart, version, data and labels.  A policy without ``start`` rules
    lets anyone start.
    """
    rules = policy.start
    if rules is None:
        return None
    return _refusal(rules, principal, lambda: asked, START, asked.chart)


def _refusal(rules: tuple[Allow, ...], principal: Principal | None,
             instance: Callable[[], InstanceState], event: str, chart: str) -> str | None:
    """Why no rule of ``rules`` passes ``principal``; ``None`` when one does."""
    if principal is None:
        return (f"no principal was given (the chart's policy names who may "
                f"{'start it' if event == START else 'send it'})")
    for rule in rules:
        try:
            if rule.passes(principal, instance):
                return None
        except Exception as exc:  # noqa: BLE001 - fail closed, and say why
            _log.exception("authorization guard of %r for %r failed", event, chart)
            # the error's text may hold what the guard read (the caller is told the type
            # only; the traceback above is the operators')
            return (f"its guard failed ({type(exc).__name__}; the traceback is logged on "
                    f"statekeeper.authz)")
    return f"no rule allows it (roles: {', '.join(sorted(principal.roles)) or 'none'})"


def check_entered(policy: Policy, principal: Principal | None,
                  microsteps: Sequence[Microstep]) -> str | None:
    """Why ``principal`` may not enter the sensitive states the step entered; ``None``: it may."""
    sensitive = policy.states
    for micro in microsteps:
        for state in micro.entered:
            roles = sensitive.get(state)
            if roles is not None and (principal is None or not roles & principal.roles):
                return entering_reason(state, roles)
    return None


def entering_reason(state: str, roles: Set[str]) -> str:
    """Why entering the sensitive ``state`` was refused (its roles are ``roles``).

    One function for the words, so a client can tell this reason from the others and
    tell a principal who may not read the state :data:`UNSEEN_STATE_REASON` instead.
    """
    return f"entering state {state!r} takes one of the roles {sorted(roles)}"


def log_denied(instance: str, chart: str, event: str, principal: Principal | None,
               reason: str) -> None:
    """A warning record of a refusal, with the fields the transition records carry."""
    _log.warning("%s %s: %s denied to %s: %s", instance, chart, event,
                 principal.id if principal is not None else "(anonymous)", reason,
                 extra={"instance": instance, "chart": chart, "event": event,
                        "actor": principal.id if principal is not None else None,
                        "outcome": "denied", "reason": reason})
