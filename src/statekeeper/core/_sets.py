"""SCXML's set algorithms: exit sets, entry sets, transition domains, history targets.

Each function computes what the pseudo-code of the SCXML recommendation, Appendix D
(https://www.w3.org/TR/scxml/#AlgorithmforSCXMLInterpretation), computes, over compiled nodes
and their indexes (:mod:`statekeeper.core._index`), in time linear in the states involved:
where the pseudo-code scans every state to enter for "is one of them inside this region?",
:class:`Entering` keeps the set of regions already holding one.
"""

from __future__ import annotations

from bisect import bisect_right
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from ._index import transition_domain
from .nodes import ATOMIC, FINAL, HISTORY, PARALLEL, Node, TransitionNode

if TYPE_CHECKING:
    from .compile import CompiledChart

__all__ = ["LEAVES", "ORDER", "Entering", "SetAlgorithms", "history_updates"]

#: the sort key of document order (``sorted(states, key=ORDER)``; faster than ``Node.__lt__``)
ORDER = attrgetter("order")

#: the kinds of states that are leaves of a configuration
LEAVES = frozenset({ATOMIC, FINAL})


def _related(a: Node, b: Node) -> bool:
    """Whether one of two states is the other or inside it."""
    return a is b or a in b.descendants or b in a.descendants


def history_updates(to_exit: list[Node]) -> list[tuple[str, tuple[str, ...]]]:
    """What exiting ``to_exit`` (reverse document order) records, by history state id.

    The active descendants of an exited state are all exited too, and they are the
    states of ``to_exit`` between its document-order position and its subtree's last.
    """
    updates: list[tuple[str, tuple[str, ...]]] = []
    ascending = to_exit[::-1]
    orders = [n.order for n in ascending]
    for node in to_exit:
        if not node.history:
            continue
        inside = ascending[bisect_right(orders, node.order):bisect_right(orders, node.last)]
        for hist in node.history:
            if hist.history_kind == "deep":
                recorded = [s for s in inside if s.kind in LEAVES]
            else:
                recorded = [s for s in inside if s.parent is node]
            updates.append((hist.id, tuple(s.id for s in recorded)))
    return updates


class Entering:
    """The states to enter in one microstep, and what their entry needs to know.

    ``covered`` holds every state to enter and all their ancestors: "does the set hold this
    region or a descendant of it?" is one lookup.  ``expanded`` holds the parallel states whose
    regions were all given states to enter already, so a second target in the same parallel
    state does not scan its regions again.
    """

    __slots__ = ("covered", "expanded", "for_default", "history_content", "states")

    def __init__(self) -> None:
        self.states: set[Node] = set()
        self.covered: set[Node] = set()
        self.expanded: set[Node] = set()
        self.for_default: set[Node] = set()
        self.history_content: dict[str, Any] = {}

    def add(self, state: Node) -> None:
        self.states.add(state)
        covered = self.covered
        node: Node | None = state
        while node is not None and node not in covered:  # ``covered`` is closed upwards
            covered.add(node)
            node = node.parent


class SetAlgorithms:
    """Mixin of :class:`~statekeeper.core._run.Run`: the pure set computations."""

    chart: CompiledChart
    config: set[Node]
    history: dict[str, tuple[str, ...]]
    dynamic: bool

    def compute_exit_set(self, transitions: list[TransitionNode]) -> set[Node]:
        """The active descendants of the transitions' domains."""
        domains = {d for d in map(self.get_transition_domain, transitions) if d is not None}
        if not domains:
            return set()
        config = self.config
        if len(domains) == 1:
            (domain,) = domains
            if domain.parent is None:
                return set(config)
            inside = domain.descendants
            return {s for s in config if s in inside}
        return {s for s in config if not domains.isdisjoint(s.ancestors)}

    def compute_entry_set(self, transitions: list[TransitionNode], entering: Entering) -> None:
        for transition in transitions:
            for target in transition.targets:
                self.add_descendant_states_to_enter(target, entering)
            # no history target: the targets are the effective ones (a repeated target adds
            # nothing the first did not)
            if transition.domain_fixed:
                ancestor, targets = transition.domain, transition.targets
            else:
                ancestor = self.get_transition_domain(transition)
                targets = tuple(self.get_effective_target_states(transition))
            for target in targets:
                self.add_ancestor_states_to_enter(target, ancestor, entering)

    def add_descendant_states_to_enter(self, state: Node, entering: Entering) -> None:
        if state.kind == HISTORY:
            self.dynamic = True
            parent = state.parent
            assert parent is not None and state.initial is not None
            if state.id in self.history:
                targets = [self.chart.nodes[s] for s in self.history[state.id]]
            else:
                targets = list(state.initial.targets)
                if state.initial.actions:
                    entering.history_content[parent.id] = state.initial.actions
            for target in targets:
                self.add_descendant_states_to_enter(target, entering)
            for target in targets:
                self.add_ancestor_states_to_enter(target, parent, entering)
            return
        entering.add(state)
        if state.kind == PARALLEL:
            self.add_regions_to_enter(state, entering)
        elif state.children:
            entering.for_default.add(state)
            assert state.initial is not None
            for target in state.initial.targets:
                self.add_descendant_states_to_enter(target, entering)
            for target in state.initial.targets:
                self.add_ancestor_states_to_enter(target, state, entering)

    def add_regions_to_enter(self, state: Node, entering: Entering) -> None:
        """Enter by default every region of parallel ``state`` that holds no state to enter."""
        if state in entering.expanded:  # every region holds one already: nothing to do
            return
        entering.expanded.add(state)
        covered = entering.covered
        for child in state.children:
            if child not in covered:
                self.add_descendant_states_to_enter(child, entering)

    def add_ancestor_states_to_enter(self, state: Node, ancestor: Node | None,
                                     entering: Entering) -> None:
        for anc in state.ancestors:
            if anc is ancestor or anc.parent is None:
                break
            entering.add(anc)
            if anc.kind == PARALLEL:
                self.add_regions_to_enter(anc, entering)

    def get_transition_domain(self, transition: TransitionNode) -> Node | None:
        if transition.domain_fixed:
            return transition.domain
        return transition_domain(transition, self.get_effective_target_states(transition))

    def get_effective_target_states(self, transition: TransitionNode) -> list[Node]:
        targets: list[Node] = []
        for state in transition.targets:
            if state.kind == HISTORY:
                if state.id in self.history:
                    found = [self.chart.nodes[s] for s in self.history[state.id]]
                else:
                    assert state.initial is not None
                    found = self.get_effective_target_states(state.initial)
                targets.extend(s for s in found if s not in targets)
            elif state not in targets:
                targets.append(state)
        return targets

    def remove_conflicting_transitions(self, enabled: list[TransitionNode]) -> list[TransitionNode]:
        """SCXML removeConflictingTransitions: keep the optimal, non-conflicting set.

        Two enabled transitions conflict when their exit sets meet.  The source of an enabled
        transition is active, so a transition with a domain exits at least one state, and two
        exit sets (the active descendants of each domain) meet exactly when one domain is the
        other or inside it.  The kept transitions are indexed by domain and by the states
        above their domains, so each one is compared with those it conflicts with only.
        """
        domains_of = [self.get_transition_domain(t) if t.targets else None for t in enabled]
        exiting = {d for d in domains_of if d is not None}
        if len(exiting) == sum(d is not None for d in domains_of) and all(
                exiting.isdisjoint(d.ancestors) for d in exiting):
            return enabled  # no domain is another's or inside it: nothing conflicts
        kept: dict[TransitionNode, None] = {}
        kept_at: dict[Node, dict[TransitionNode, None]] = {}  # by domain
        kept_under: dict[Node, dict[TransitionNode, None]] = {}  # by domain and its ancestors
        kept_from: dict[Node, dict[TransitionNode, None]] = {}  # by source
        domains: dict[TransitionNode, Node] = {}
        for t1, d1 in zip(enabled, domains_of, strict=True):
            if d1 is None:  # exits nothing: conflicts with nothing
                kept[t1] = None
                continue
            above = [t for anc in d1.ancestors for t in kept_at.get(anc, ())]
            conflicts = len(kept_under.get(d1, ())) + len(above)
            if conflicts:
                # t1 wins only over transitions from its source's ancestors, and must win
                # over every conflicting one to be kept
                wins = sum(1 for anc in t1.source.ancestors for t2 in kept_from.get(anc, ())
                           if _related(domains[t2], d1))
                if wins < conflicts:
                    continue
                for t2 in (*kept_under.get(d1, ()), *above):
                    d2 = domains.pop(t2)
                    del kept[t2], kept_at[d2][t2], kept_from[t2.source][t2]
                    for node in (d2, *d2.ancestors):
                        del kept_under[node][t2]
            kept[t1] = None
            domains[t1] = d1
            kept_at.setdefault(d1, {})[t1] = None
            kept_from.setdefault(t1.source, {})[t1] = None
            for node in (d1, *d1.ancestors):
                kept_under.setdefault(node, {})[t1] = None
        return list(kept)
