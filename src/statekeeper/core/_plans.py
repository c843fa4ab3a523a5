"""What a step can know before any guard runs, computed once per chart and reused.

SCXML's algorithm (https://www.w3.org/TR/scxml/#AlgorithmforSCXMLInterpretation) spends most
of a microstep on work that depends only on the configuration and on which transitions were
selected, never on the data:

- for a configuration and an event name, the candidate transitions of each active atomic
  state, nearest state first and in document order within a state (:meth:`StepPlans.chains`);
  at run time only their guards are evaluated, in exactly the order the algorithm would;
- for a configuration and a set of selected transitions, the conflict-free set, the states
  exited and entered in order, the history recorded, the blocks of executable content to run,
  the next configuration and the microstep record (:class:`Plan`); at run time only the
  blocks run (and, on entering a final state, ``done.state`` and its donedata).

A plan that enters a history state depends on what that history holds: such plans are keyed by
the recorded values they read too.  Configurations are interned frozensets of nodes; a
configuration of more than :data:`MAX_STATES` states is not planned (the wide-chart path of
:mod:`statekeeper.core._sets` stays linear there), and each cache is emptied when it reaches
:data:`MAX_ENTRIES`, so a chart with many configurations cannot grow memory without bound.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ._sets import LEAVES, ORDER, Entering, SetAlgorithms, history_updates
from .commands import Microstep
from .nodes import FINAL, Node, TransitionNode

if TYPE_CHECKING:
    from ._flat import FlatProgram
    from .compile import CompiledChart

__all__ = ["MAX_ENTRIES", "MAX_STATES", "Plan", "StepPlans"]

#: configurations with more active states than this are stepped without plans
MAX_STATES = 64
#: each cache (configurations, candidates, plans) is emptied when it holds this many entries
MAX_ENTRIES = 20_000

Key = frozenset[Node]
Block = tuple[Callable[[Any], None], ...]
Chains = tuple[tuple[TransitionNode, ...], ...]


class Plan:
    """One microstep with everything but guards and executable content worked out.

    ``exits`` are ``(state, exit blocks, has invokes)`` in exit order; ``entries`` are
    ``(state, blocks, is atomic, has invokes, is final)`` in entry order, the blocks being the
    state's ``onentry`` handlers, then its default ``<initial>`` content when entered by
    default, then the history default content given to it.
    """

    __slots__ = ("actions", "dynamic", "entries", "exited", "exits", "history", "ids", "key",
                 "records", "transitions")

    def __init__(self, transitions: tuple[TransitionNode, ...], to_exit: list[Node],
                 entering: Entering, after: frozenset[Node], key: Key | None,
                 dynamic: bool) -> None:
        self.transitions = transitions
        #: the transitions' own blocks, in order (those with none left out)
        self.actions = tuple(t.actions for t in transitions if t.actions)
        self.exited = to_exit
        self.exits = tuple((n, n.exit, bool(n.invokes)) for n in to_exit)
        self.history = tuple(history_updates(to_exit))
        entered = sorted(entering.states, key=ORDER)
        for_default, content = entering.for_default, entering.history_content
        entries = []
        for node in entered:
            blocks: list[Block] = list(node.entry)
            if node in for_default and node.initial is not None and node.initial.actions:
                blocks.append(node.initial.actions)
            if node.id in content:
                blocks.append(content[node.id])
            entries.append((node, tuple(blocks), node.kind in LEAVES, bool(node.invokes),
                            node.kind == FINAL))
        self.entries = tuple(entries)
        self.key = key  # the next configuration's key; None when it is too wide to plan
        self.ids = tuple(n.id for n in sorted(after, key=ORDER))
        self.dynamic = dynamic
        self.records: dict[str | None, Microstep] = {}
        moves = tuple((t.source.id, tuple(n.id for n in t.targets)) for t in transitions)
        self.records[None] = Microstep(None, moves, tuple(n.id for n in to_exit),
                                       tuple(n.id for n in entered), self.ids)

    def record(self, event: str | None) -> Microstep:
        """The microstep record of this plan taken on ``event`` (one object per name)."""
        found = self.records.get(event)
        if found is None:
            base = self.records[None]
            found = Microstep(event, base.transitions, base.exited, base.entered,
                              base.configuration)
            if len(self.records) < 64:
                self.records[event] = found
        return found


class _Reads(dict[str, tuple[str, ...]]):
    """The recorded history, noting every history state id a computation looked up."""

    def __init__(self, history: dict[str, tuple[str, ...]]) -> None:
        super().__init__(history)
        self.read: dict[str, None] = {}

    def __contains__(self, key: object) -> bool:
        self.read[key] = None  # type: ignore[index]
        return super().__contains__(key)

    def __getitem__(self, key: str) -> tuple[str, ...]:
        self.read[key] = None
        return super().__getitem__(key)


class _Scratch(SetAlgorithms):
    """The set algorithms over a configuration given as a key, history reads noted."""

    def __init__(self, chart: CompiledChart, key: Key, history: _Reads) -> None:
        self.chart = chart
        self.config = set(key)
        self.history = history
        self.dynamic = False


class _ByHistory:
    """Plans of one (configuration, transitions) that read recorded history, by its values."""

    __slots__ = ("plans", "reads")

    def __init__(self, reads: tuple[str, ...]) -> None:
        self.reads = reads
        self.plans: dict[tuple[tuple[str, ...] | None, ...], Plan] = {}


class StepPlans:
    """The per-chart caches of candidates and plans (see the module docstring)."""

    __slots__ = ("_by_ids", "_chart", "_interned", "candidates", "deep_data", "flat", "made",
                 "max_entries", "max_states", "spare")

    def __init__(self, chart: CompiledChart, *, max_states: int = MAX_STATES,
                 max_entries: int = MAX_ENTRIES) -> None:
        self._chart = chart
        self.max_states = max_states
        self.max_entries = max_entries
        self._by_ids: dict[tuple[str, ...], Key] = {}
        self._interned: dict[Key, Key] = {}
        #: the candidates by (configuration, event name): read directly on the hot path
        self.candidates: dict[tuple[Key, str | None], Chains] = {}
        #: the plans by (configuration, transitions selected): read directly on the hot path
        self.made: dict[tuple[Key, tuple[TransitionNode, ...]], Plan | _ByHistory] = {}
        #: the flat programs by (configuration, event name), ``None`` where there is none
        #: (:mod:`statekeeper.core._flat`)
        self.flat: dict[tuple[Key, str], FlatProgram | None] = {}
        #: finished working states of steps, kept for reuse (:mod:`statekeeper.core._quick`)
        self.spare: list[Any] = []
        #: whether a step copies the data deeply (code under the python datamodel writes
        #: into nested values in place; functions and assigns copy what they change)
        self.deep_data = chart.datamodel.name == "python"

    def bounded(self, cache: dict[Any, Any]) -> dict[Any, Any]:
        """``cache``, emptied first when full: memory stays bounded, hot entries come back."""
        if len(cache) >= self.max_entries:
            cache.clear()
        return cache

    def sizes(self) -> dict[str, int]:
        """How many entries each cache holds (each at most ``max_entries``)."""
        return {"configurations": len(self._by_ids), "interned": len(self._interned),
                "candidates": len(self.candidates), "plans": len(self.made),
                "flat": len(self.flat)}

    # ------------------------------------------------------------------ configurations

    def known(self, ids: tuple[str, ...]) -> Key | None:
        """The key of a configuration met before, else ``None`` (nothing is computed)."""
        return self._by_ids.get(ids)

    def key_of_ids(self, ids: tuple[str, ...]) -> Key | None:
        """The key of a configuration given by state ids, or ``None`` when it is too wide."""
        found = self._by_ids.get(ids)
        if found is None:
            if len(ids) > self.max_states:
                return None
            nodes = self._chart.nodes
            found = self._intern(frozenset(nodes[s] for s in ids))
            self.bounded(self._by_ids)[ids] = found
        return found

    def key_of(self, config: Iterable[Node], size: int) -> Key | None:
        """The key of a configuration given by its nodes, or ``None`` when it is too wide."""
        if size > self.max_states:
            return None
        return self._intern(frozenset(config))

    def _intern(self, key: Key) -> Key:
        found = self._interned.get(key)
        if found is None:
            found = self.bounded(self._interned).setdefault(key, key)
        return found

    # ------------------------------------------------------------------ selection

    def chains(self, key: Key, name: str | None) -> Chains:
        """Per active atomic state (document order), its candidates in priority order.

        A candidate list is the transitions on ``name`` (eventless ones when ``None``) of the
        state and then of each ancestor below the root, each state's in document order: the
        first whose guard holds is the one the state contributes, exactly as in SCXML's
        selectTransitions.  States that offer nothing are left out.
        """
        found = self.candidates.get((key, name))
        if found is None:
            chains = []
            for atomic in sorted((n for n in key if n.kind in LEAVES), key=ORDER):
                if name is None:
                    chain = tuple(t for s in atomic.lineage for t in s.eventless)
                else:
                    chain = tuple(t for s in atomic.lineage for t in s.transitions_for(name))
                if chain:
                    chains.append(chain)
            found = self.bounded(self.candidates)[(key, name)] = tuple(chains)
        return found

    # ------------------------------------------------------------------ plans

    def plan(self, key: Key, enabled: tuple[TransitionNode, ...],
             history: dict[str, tuple[str, ...]]) -> Plan:
        """The plan of taking ``enabled`` (selected, conflicts not yet removed) from ``key``."""
        found = self.made.get((key, enabled))
        if found is None:
            plan, reads = self._compute(key, enabled, history)
            if not reads:
                self.bounded(self.made)[(key, enabled)] = plan
                return plan
            found = self.bounded(self.made)[(key, enabled)] = _ByHistory(reads)
            found.plans[tuple(history.get(h) for h in reads)] = plan
            return plan
        if isinstance(found, Plan):
            return found
        values = tuple(history.get(h) for h in found.reads)
        plan_ = found.plans.get(values)
        if plan_ is None:
            plan_, reads = self._compute(key, enabled, history)
            if reads == found.reads and len(found.plans) < 256:
                found.plans[values] = plan_
        return plan_

    def _compute(self, key: Key, enabled: tuple[TransitionNode, ...],
                 history: dict[str, tuple[str, ...]]) -> tuple[Plan, tuple[str, ...]]:
        reads = _Reads(history)
        scratch = _Scratch(self._chart, key, reads)
        chosen = list(enabled)
        if len(chosen) > 1:
            chosen = scratch.remove_conflicting_transitions(chosen)
        to_exit = sorted(scratch.compute_exit_set(chosen), key=ORDER, reverse=True)
        for hist_id, ids in history_updates(to_exit):  # recorded before anything is entered
            dict.__setitem__(reads, hist_id, ids)
        entering = Entering()
        scratch.compute_entry_set(chosen, entering)
        config = frozenset(key.difference(to_exit).union(entering.states))
        # a configuration too wide to plan is left to the wide-chart path from here on
        after = None if len(config) > self.max_states else self._intern(config)
        # the values read are those from before this microstep: a key over-specific at worst
        plan = Plan(tuple(chosen), to_exit, entering, config, after, scratch.dynamic)
        return plan, tuple(reads.read)
