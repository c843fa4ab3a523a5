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
from ..runtime.authz import HIDDEN, InvalidPrincipal, Principal
from ..runtime.privacy import shown
from ..runtime.state import InstanceState
from ._page import QueryPage

if TYPE_CHECKING:
    from ..runtime.registry import Registry

__all__ = ["PrivacyMixin"]


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

    def _compiled(self, name: str, version: str) -> CompiledChart | None:
        entry = self.registry.find(name, version)
        return None if entry is None else entry.chart

    def _shown(self, state: InstanceState, reader: Principal | None) -> InstanceState:
        """What ``reader`` may see of ``state`` (all of it with no reader or no policy)."""
        if reader is None or not self.registry.policies:
            return state
        return shown(state, self.registry.policies.get(state.chart), reader, self._compiled)

    def _shown_refusal(self, error: EventNotAccepted | MachineFinished, instance_id: str,
                       reader: Principal) -> EventNotAccepted | MachineFinished:
        """``error`` naming the configuration as ``reader`` may see it (a read of the instance).

        A refused event's message names the configuration it was refused in; for a principal
        without reading rights that would show the sensitive states the policy hides.
        """
        try:
            state = self._get(instance_id)
        except StatekeeperError:  # gone or unreadable: name nothing
            return type(error)(error.event, (HIDDEN,))
        seen = self._shown(replace(state, configuration=error.configuration), reader)
        if seen.configuration == error.configuration:
            return error
        return type(error)(error.event, seen.configuration)

    def _shown_later(self, future: Future[InstanceState],
                     reader: Principal | None) -> Future[InstanceState]:
        """A future of what ``reader`` may see of ``future``'s answer."""
        if reader is None or not self.registry.policies:
            return future
        out: Future[InstanceState] = Future()

        def done(answer: Future[InstanceState]) -> None:
            try:
                out.set_result(self._shown(answer.result(), reader))
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
