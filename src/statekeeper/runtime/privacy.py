"""Public and private data: what a principal without reading rights sees of an instance.

Why a view and not a second copy of the data: the instance is one row; what a caller may see
of it depends on who asks.  So the store and the engine keep everything, and a read for a
principal (``get``, ``query``, ``when``, the answer of ``send`` and ``receive``) is passed
through :func:`shown` on the way out.  Reads without a principal are the application's own
and are not filtered.

A chart's :class:`~statekeeper.runtime.authz.Policy` restricts reads when it names
``public`` fields or ``read`` rules.  A principal who passes a ``read`` rule sees everything.
Anyone else sees:

* ``data``: only the public fields (none when ``public`` is not given);
* ``configuration``: each active sensitive state (``Policy(states=...)``) and everything
  below it replaced by one :data:`~statekeeper.runtime.authz.HIDDEN` (``"hidden"``), where
  the first of them stood; the states above it (its nearest non-sensitive ancestors) and
  other parallel regions stay.  So ``state`` (the deepest active state) reads ``"hidden"``
  while the instance is in a sensitive state of one region;
* ``labels``: none (labels are the application's; they may name people or accounts).

The id, chart, version, status, rev, time and outcome are shown: a caller that may send to
an instance already knows it exists, and these say nothing of its data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from ..core._records import positional_constructor
from ..core.compile import CompiledChart
from .authz import HIDDEN, Policy, Principal
from .state import InstanceState

__all__ = ["may_read", "neutral_configuration", "shown"]

_log = logging.getLogger("statekeeper.authz")

# every field, positionally (as state.py builds answers): dataclasses.replace costs more
# than the rest of the filter
_new_state = positional_constructor(InstanceState)


def may_read(policy: Policy, principal: Principal, state: InstanceState) -> bool:
    """Whether ``principal`` passes one of the policy's ``read`` rules for this instance.

    A guard that raises refuses (fail closed), as an event's guard does.
    """
    rules = policy.read
    if not rules:
        return False
    for rule in rules:
        try:
            if rule.passes(principal, state.copy):
                return True
        except Exception:  # noqa: BLE001 - a broken guard must not show private data
            _log.exception("read guard of chart %r failed for %r: only public data shown",
                           state.chart, principal.id)
    return False


def neutral_configuration(configuration: tuple[str, ...], sensitive: Mapping[str, Any],
                          chart: CompiledChart | None) -> tuple[str, ...]:
    """``configuration`` with each active sensitive state's subtree replaced by ``HIDDEN``.

    ``sensitive`` holds the sensitive state ids (as keys).  Without the chart (a version this
    process has not registered) nothing can say which active states lie below a sensitive
    one, so the whole configuration is hidden.
    """
    if not any(state in sensitive for state in configuration):
        return configuration
    if chart is None:
        return (HIDDEN,)
    nodes = chart.nodes
    shown_states: list[str] = []
    placed = False
    for state in configuration:
        node = nodes.get(state)
        hidden = node is None or state in sensitive or any(
            a.id in sensitive for a in node.ancestors)
        if not hidden:
            shown_states.append(state)
        elif not placed:
            shown_states.append(HIDDEN)
            placed = True
    return tuple(shown_states)


def shown(state: InstanceState, policy: Policy | None, principal: Principal | None,
          chart: Callable[[str, str], CompiledChart | None]) -> InstanceState:
    """What ``principal`` may see of ``state`` under ``policy`` (``state`` itself if all).

    ``chart(name, version)`` finds the compiled chart of the instance's version, or ``None``.
    A caller without a principal (the application itself) sees everything.
    """
    if policy is None or principal is None or not policy.restricts_reads \
            or may_read(policy, principal, state):
        return state
    public = policy.public or frozenset()
    configuration = state.configuration
    sensitive = policy.states
    if sensitive and any(s in sensitive for s in configuration):
        configuration = neutral_configuration(configuration, sensitive,
                                              chart(state.chart, state.version))
    return _new_state(state.id, state.chart, state.version, configuration,
                      {k: v for k, v in state.data.items() if k in public}, state.status,
                      state.rev, {}, state.outcome, state.updated_at)
