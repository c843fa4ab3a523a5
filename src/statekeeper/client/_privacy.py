"""The reading side of authorization in the clients: what a principal sees of an instance.

Split from ``_base`` for size; :mod:`statekeeper.runtime.privacy` says what is hidden and
why, ``docs/security.md`` ("Public and private data") how to use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..core.compile import CompiledChart
from ..core.errors import EventNotAccepted, MachineFinished, StatekeeperError
from ..runtime.authz import (
    HIDDEN,
    UNSEEN_STATE_REASON,
    InvalidPrincipal,
    NotAuthorized,
    Principal,
    entering_reason,
)
from ..runtime.privacy import may_read, shown
from ..runtime.state import InstanceState
from ._page import QueryPage
from .errors import OperatorsOnly

if TYPE_CHECKING:
    from ..runtime.registry import Registry

__all__ = ["REFUSALS", "PrivacyMixin"]

#: the errors of a send that can name the instance's states, shown to a principal as
#: :meth:`PrivacyMixin._shown_refusal` says
REFUSALS = (EventNotAccepted, MachineFinished, NotAuthorized)
Refusal = EventNotAccepted | MachineFinished | NotAuthorized


class PrivacyMixin:
    """Filters the answers of reads and sends made for a principal (set up by ``_BaseClient``)."""

    registry: Registry
    principal: Principal | None

    if TYPE_CHECKING:
        def _get(self, instance_id: str) -> InstanceState: ...

        def _query(self, chart: str | None, state: str | None,
                   labels: Mapping[str, str] | None, status: str | None, limit: int,
                   after: str | None) -> QueryPage: ...

    def _reader(self, principal: Any) -> Principal | None:
        """Who reads: ``principal``, else the client's default (``None``: the application).

        Raises:
            InvalidPrincipal: ``principal`` is not a :class:`Principal`.

        """
        if principal is None:
            return self.principal
        if not isinstance(principal, Principal):
            raise InvalidPrincipal(f"principal= takes a Principal, not {principal!r}")
        return principal

    def _operators_only(self, what: str, instance_id: str | None = None) -> None:
        """Refuse an operators' view to a client reading for a principal (see OperatorsOnly).

        ``instance_id``: a view of that instance only, allowed when the principal may read
        all of it (its chart's policy does not restrict reads, or a ``read`` rule passes).
        """
        principal = self.principal
        policies = self.registry.policies
        if principal is None or not any(p.restricts_reads for p in policies.values()):
            return
        if instance_id is not None:
            state = self._get(instance_id)
            policy = policies.get(state.chart)
            if policy is None or not policy.restricts_reads or may_read(policy, principal,
                                                                         state):
                return
        raise OperatorsOnly(
            f"{what} is an operators' view (its rows hold every state, data and payload), and "
            f"this client reads for principal {principal.id!r}, who may not read "
            f"{'all of ' + repr(instance_id) if instance_id else 'every instance'}: use a "
            f"client without a default principal")

    def _check_watchable(self, current: InstanceState, state: str) -> None:
        """Refuse ``when`` for a state this client's principal may not see (OperatorsOnly).

        Waiting for a sensitive state, or one below it, would tell when the instance entered
        it, which the neutral configuration hides.  Reads the instance in full (a blocking
        store read) only when the state is hidden from readers without rights.  A principal
        who passes a ``read`` rule (or a chart whose policy restricts no reads) waits for any
        state.  Without the chart
        of the instance's version, nothing says which states lie below a sensitive one, so
        every state is refused (as :func:`~statekeeper.runtime.privacy.neutral_configuration`
        hides the whole configuration then).
        """
        reader = self.principal
        policy = None if reader is None else self.registry.policies.get(current.chart)
        if reader is None or policy is None or not policy.restricts_reads:
            return
        sensitive = policy.states or {}
        chart = self._compiled(current.chart, current.version)
        node = None if chart is None else chart.nodes.get(state)
        hidden = state in sensitive or (bool(sensitive) and (node is None or any(
            a.id in sensitive for a in node.ancestors)))
        # the read rules judge the instance in full (``current`` is what the reader sees)
        if hidden and not may_read(policy, reader, self._get(current.id)):
            raise OperatorsOnly(
                f"when(): state {state!r} of chart {current.chart!r} is sensitive, and this "
                f"client reads for principal {reader.id!r}, who may not read all of "
                f"{current.id!r}: waiting for it would tell when the instance entered it")

    def _compiled(self, name: str, version: str) -> CompiledChart | None:
        entry = self.registry.find(name, version)
        return None if entry is None else entry.chart

    def _shown(self, state: InstanceState, reader: Principal | None) -> InstanceState:
        """What ``reader`` may see of ``state`` (all of it with no reader or no policy)."""
        if reader is None or not self.registry.policies:
            return state
        return shown(state, self.registry.policies.get(state.chart), reader, self._compiled)

    def _shown_refusal(self, error: Refusal, instance_id: str, reader: Principal) -> Refusal:
        """``error`` as ``reader`` may see it (``error`` itself when nothing is hidden).

        A refused event's message names the configuration it was refused in, and a refusal
        to enter a sensitive state names that state: for a principal without reading
        rights either would show what the policy hides, so the configuration is the one
        the principal reads and the state is not named (:data:`UNSEEN_STATE_REASON`).
        """
        try:
            state = self._get(instance_id)
        except StatekeeperError:  # gone or unreadable: name nothing
            state = None
        if isinstance(error, NotAuthorized):
            return self._shown_denial(error, state, reader)
        if state is None:
            return type(error)(error.event, (HIDDEN,))
        seen = self._shown(replace(state, configuration=error.configuration), reader)
        if seen.configuration == error.configuration:
            return error
        return type(error)(error.event, seen.configuration)

    def _shown_denial(self, error: NotAuthorized, state: InstanceState | None,
                      reader: Principal) -> NotAuthorized:
        """``error`` without the sensitive state it names, unless ``reader`` may read it."""
        policies = self.registry.policies
        found = [policies.get(state.chart)] if state is not None else list(policies.values())
        for policy in found:  # the instance gone: any policy's states could be the one
            if policy is None or not policy.restricts_reads or not any(
                    error.reason == entering_reason(name, roles)
                    for name, roles in policy.states.items()):
                continue
            if state is not None and may_read(policy, reader, state):
                return error
            return NotAuthorized(error.instance, error.event, error.principal,
                                 UNSEEN_STATE_REASON)
        return error

    def _shown_later(self, future: Future[InstanceState], reader: Principal | None,
                     instance_id: str | None = None) -> Future[InstanceState]:
        """A future of what ``reader`` may see of ``future``'s answer (or its refusal)."""
        if reader is None or not self.registry.policies:
            return future
        out: Future[InstanceState] = Future()

        def done(answer: Future[InstanceState]) -> None:
            try:
                out.set_result(self._shown(answer.result(), reader))
            except REFUSALS as exc:
                shown = exc if instance_id is None else self._shown_refusal(
                    exc, instance_id, reader)
                out.set_exception(shown)
            except BaseException as exc:  # noqa: BLE001 - the caller's future carries it
                out.set_exception(exc)

        future.add_done_callback(done)
        return out

    def _shown_query(self, reader: Principal | None, chart: str | None, state: str | None,
                     labels: Mapping[str, str] | None, status: str | None, limit: int,
                     after: str | None) -> QueryPage:
        """A page of what ``reader`` sees: an instance matches by what it may see of it.

        So a principal without reading rights finds nobody by a sensitive state or by labels
        (it sees neither).  Pages are filled from the following rows as needed, so an empty
        page is still the end.
        """
        page = self._query(chart, state, labels, status, limit, after)
        if reader is None or not self.registry.policies:
            return page
        found: list[InstanceState] = []
        corrupted = list(page.corrupted)
        while True:
            for one in page:
                seen = self._shown(one, reader)
                if (state is None or state in seen.configuration) and (
                        not labels or all(seen.labels.get(k) == v for k, v in labels.items())):
                    found.append(seen)
            if len(page) < limit or len(found) >= limit:
                break
            page = self._query(chart, state, labels, status, limit, page[-1].id)
            corrupted.extend(page.corrupted)
        result = QueryPage(found[:limit])
        result.corrupted = tuple(corrupted)
        return result
