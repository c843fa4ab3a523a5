"""Interned configurations and memoised step outcomes: the in-memory fast path.

When a step's outcome depends only on the configuration and the event name (no guard, action,
data, history or timer was involved, which the step reports as ``static``), the machine stores
``(configuration, event) -> (next configuration, outcome)`` on the chart.  Sending that event in
that configuration again is then a dictionary lookup.  The cache is a pure function's memo: it
can never disagree with :func:`statekeeper.core.step` (``tests/core/test_properties.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core._flat import FlatProgram
from ..core._plans import Key
from ..core.commands import Microstep
from ..core.compile import CompiledChart
from ..core.nodes import FINAL, ROOT_ID

__all__ = ["Config", "Outcome", "intern_config", "planned_key"]

#: Per chart, at most this many (configuration, event) outcomes are memoised.
MEMO_LIMIT = 100_000


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one ``send`` did.

    Attributes:
        event: the event name.
        status: ``"applied"``, ``"ignored"`` (the state marks the event ignorable) or
            ``"queued"`` (sent from inside a listener or effect; it runs after the current one).
        configuration: the active states afterwards, in document order.
        microsteps: the microsteps taken.
        done: whether the machine has reached a top-level final state.

    """

    event: str
    status: str
    configuration: tuple[str, ...]
    microsteps: tuple[Microstep, ...] = ()
    done: bool = False

    @property
    def state(self) -> str:
        """The deepest active state (the last in document order)."""
        return self.configuration[-1] if self.configuration else ""


class Config:
    """An interned configuration: one object per distinct configuration of a chart.

    ``key`` is the chart's plans' key of it (:mod:`statekeeper.core._plans`), looked up on
    first use by :func:`planned_key`; ``None`` when it is too wide to plan.  ``programs``
    keeps the flat program (:mod:`statekeeper.core._flat`) of each event name met here, or
    ``None`` where there is none.
    """

    __slots__ = ("done", "ids", "key", "on", "programs")

    def __init__(self, ids: tuple[str, ...], done: bool) -> None:
        self.ids = ids
        self.done = done
        self.on: dict[str, tuple[Config, Outcome]] = {}
        self.key: Key | bool | None = False  # False: not looked up yet
        self.programs: dict[str, FlatProgram | None] = {}


def planned_key(chart: CompiledChart, config: Config) -> Key | None:
    """The plans' key of ``config`` (``None``: no plans, or too wide to plan)."""
    key = config.key
    if key is False:
        plans = chart.plans
        key = config.key = None if plans is None else plans.key_of_ids(config.ids)
    return key  # type: ignore[return-value]


def intern_config(chart: CompiledChart, ids: tuple[str, ...]) -> Config:
    """Return the one :class:`Config` object for ``ids`` on ``chart``."""
    memo: dict[Any, Any] = chart.memo
    found = memo.get(ids)
    if found is None:
        parents = [chart.nodes[s].parent for s in ids if chart.nodes[s].kind == FINAL]
        done = any(p is not None and p.id == ROOT_ID for p in parents)
        found = Config(ids, done)
        if len(memo) < MEMO_LIMIT:
            memo[ids] = found
    return found


def remember(chart: CompiledChart, source: Config, event: str, target: Config,
             outcome: Outcome) -> None:
    """Memoise a static outcome (bounded by :data:`MEMO_LIMIT` per chart)."""
    counter = chart.memo.setdefault("__entries__", [0])
    if counter[0] < MEMO_LIMIT:
        counter[0] += 1
        source.on[event] = (target, outcome)
