"""The authorization part of the clients: policies per chart and the caller's principal.

Split from ``_base`` for size; see :mod:`statekeeper.runtime.authz` for what is checked and
``docs/security.md`` for how to use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..runtime.authz import (
    START,
    InvalidPolicy,
    InvalidPrincipal,
    NotAuthorized,
    Policy,
    Principal,
    check_start,
    log_denied,
    validate,
)
from ..runtime.registry import UnknownChart
from ..runtime.state import InstanceState, copy_data
from .errors import InvalidArgument

if TYPE_CHECKING:
    from ..runtime.registry import Registry

__all__ = ["AuthzMixin"]


class AuthzMixin:
    """``authorize()`` and the principal each delivery carries (set up by ``_BaseClient``)."""

    registry: Registry
    #: the principal of calls that name none (``Client(..., principal=...)``)
    principal: Principal | None

    def authorize(self, chart: str, policy: Policy | None) -> None:
        """Check every caller's event to ``chart`` against ``policy`` from now on.

        Register the chart (every version you run) first: the policy is checked against
        them, so a misspelt event or state is refused here rather than left unguarded.  A
        version registered later is checked against the policy on its own, and refused
        (``InvalidPolicy``) if it lacks a name the policy uses: a renamed state would
        otherwise be left unprotected on the new version.
        ``None`` removes the chart's policy (its events are no longer checked).  Per
        process, like the registry: authorize in each process that takes callers' events.

        Raises:
            UnknownChart: no chart of that name is registered.
            InvalidPolicy: not a :class:`Policy`, or it names an event or state that no
                registered version of the chart has.

        """
        if type(chart) is not str:
            raise InvalidPolicy(f"authorize() takes a chart name, not {chart!r}")
        versions = [found.chart for v in self.registry.versions(chart)
                    if (found := self.registry.find(chart, v)) is not None]
        if not versions:
            raise UnknownChart(f"authorize(): no chart {chart!r} is registered; register it "
                               f"before its policy")
        if policy is None:
            self.registry.policies.pop(chart, None)
            return
        validate(policy, chart, versions)
        self.registry.policies[chart] = policy

    def _principal(self, principal: Any, actor: str | None) -> tuple[Principal | None, str | None]:
        """The principal of a delivery (given, or the client's) and its actor for the log.

        Raises:
            InvalidPrincipal: ``principal`` is not a :class:`Principal`.
            InvalidArgument: ``actor`` names someone other than the principal.

        """
        if principal is None:
            principal = self.principal
            if principal is None:
                return None, actor
        elif not isinstance(principal, Principal):
            raise InvalidPrincipal(f"principal= takes a Principal, not {principal!r}")
        if actor is None:
            return principal, principal.id
        if actor != principal.id:
            raise InvalidArgument(f"actor={actor!r} is not the principal {principal.id!r}: the "
                                  f"log's actor of an authorized call is its principal (give "
                                  f"one or the other)")
        return principal, actor

    def _authorize_start(self, chart: str, instance_id: str, data: Mapping[str, Any] | None,
                         labels: Mapping[str, str] | None, version: int | str | None,
                         principal: Any) -> str | None:
        """Refuse a start the chart's policy (``Policy(start=...)``) does not allow.

        Returns the start's actor for its log row: the principal's id (given, or the
        client's), as a send's row has it; ``None`` without a principal.

        Checked on the caller's thread, before anything is submitted: a refused start
        creates nothing, so there is no instance whose log could keep a ``denied`` row; the
        refusal is a warning record on ``statekeeper.authz`` and :class:`NotAuthorized`.

        Raises:
            NotAuthorized: no start rule passes the principal (or none was given).
            InvalidPrincipal: ``principal`` is not a :class:`Principal`.

        """
        actor = None
        if principal is not None or self.principal is not None:
            principal, actor = self._principal(principal, None)
        policy = self.registry.policies.get(chart)
        if policy is None or policy.start is None:
            return actor
        entry = self.registry.for_start(chart, version)
        asked = InstanceState(id=instance_id, chart=chart, version=str(entry.chart.version),
                              configuration=(), data=copy_data(dict(data or {})),
                              status="active", rev=0, labels=dict(labels or {}))
        why = check_start(policy, principal, asked)
        if why is not None:
            log_denied(instance_id, chart, START, principal, why)
            raise NotAuthorized(instance_id, START, None if principal is None else principal.id,
                                why)
        return actor
