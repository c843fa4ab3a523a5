"""SCXML's set algorithms: exit sets, entry sets, transition domains, history targets.

Each function computes what the pseudo-code of the SCXML recommendation, Appendix D
(https://www.w3.org/TR/scxml/#AlgorithmforSCXMLInterpretation), computes, over compiled nodes
and their indexes (:mod:`statekeeper.core._index`), in time linear in the states involved:
where the pseudo-code scans every state to enter for "is one of them inside this region?",
:class:`Entering` keeps the set of regions already holding one.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from ._index import transition_domain
from .compile import CompiledChart
from .nodes import HISTORY, PARALLEL, Node, TransitionNode

__all__ = ["ORDER", "Entering", "SetAlgorithms"]

#: the sort key of document order (``sorted(states, key=ORDER)``; faster than ``Node.__lt__``)
ORDER = attrgetter("order")


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
