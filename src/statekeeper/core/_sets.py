"""SCXML's set algorithms: exit sets, entry sets, transition domains, history targets.

Each function mirrors the pseudo-code of the SCXML recommendation, Appendix D
(https://www.w3.org/TR/scxml/#AlgorithmforSCXMLInterpretation), over compiled nodes.
"""

from __future__ import annotations

from typing import Any

from .compile import CompiledChart
from .nodes import HISTORY, PARALLEL, Node, TransitionNode

__all__ = ["SetAlgorithms"]


class SetAlgorithms:
    """Mixin of :class:`~statekeeper.core._run.Run`: the pure set computations."""

    chart: CompiledChart
    config: set[Node]
    history: dict[str, tuple[str, ...]]
    dynamic: bool

    def compute_exit_set(self, transitions: list[TransitionNode]) -> set[Node]:
        states: set[Node] = set()
        for transition in transitions:
            if transition.targets:
                domain = self.get_transition_domain(transition)
                if domain is not None:
                    states.update(s for s in self.config if s in domain.descendants)
        return states

    def compute_entry_set(self, transitions: list[TransitionNode], to_enter: set[Node],
                          for_default: set[Node], history_content: dict[str, Any]) -> None:
        for transition in transitions:
            for target in transition.targets:
                self.add_descendant_states_to_enter(target, to_enter, for_default, history_content)
            ancestor = self.get_transition_domain(transition)
            for target in self.get_effective_target_states(transition):
                self.add_ancestor_states_to_enter(target, ancestor, to_enter, for_default,
                                                  history_content)

    def add_descendant_states_to_enter(self, state: Node, to_enter: set[Node],
                                       for_default: set[Node], history_content: dict[str, Any]) -> None:
        if state.kind == HISTORY:
            self.dynamic = True
            parent = state.parent
            assert parent is not None and state.initial is not None
            if state.id in self.history:
                targets = [self.chart.nodes[s] for s in self.history[state.id]]
            else:
                targets = list(state.initial.targets)
                if state.initial.actions:
                    history_content[parent.id] = state.initial.actions
            for target in targets:
                self.add_descendant_states_to_enter(target, to_enter, for_default, history_content)
            for target in targets:
                self.add_ancestor_states_to_enter(target, parent, to_enter, for_default,
                                                  history_content)
            return
        to_enter.add(state)
        if state.kind == PARALLEL:
            for child in state.children:
                if not any(s in child.descendants or s is child for s in to_enter):
                    self.add_descendant_states_to_enter(child, to_enter, for_default,
                                                        history_content)
        elif state.children:
            for_default.add(state)
            assert state.initial is not None
            for target in state.initial.targets:
                self.add_descendant_states_to_enter(target, to_enter, for_default, history_content)
            for target in state.initial.targets:
                self.add_ancestor_states_to_enter(target, state, to_enter, for_default,
                                                  history_content)

    def add_ancestor_states_to_enter(self, state: Node, ancestor: Node | None, to_enter: set[Node],
                                     for_default: set[Node], history_content: dict[str, Any]) -> None:
        for anc in state.ancestors:
            if anc is ancestor or anc.parent is None:
                break
            to_enter.add(anc)
            if anc.kind == PARALLEL:
                for child in anc.children:
                    if not any(s in child.descendants or s is child for s in to_enter):
                        self.add_descendant_states_to_enter(child, to_enter, for_default,
                                                            history_content)

    def get_transition_domain(self, transition: TransitionNode) -> Node | None:
        targets = self.get_effective_target_states(transition)
        source = transition.source
        if not targets:
            return None
        if source.parent is None:
            return source
        if (
            transition.internal
            and source.children
            and source.kind != PARALLEL
            and all(t in source.descendants for t in targets)
        ):
            return source
        return self.find_lcca([source, *targets])

    @staticmethod
    def find_lcca(states: list[Node]) -> Node:
        head, tail = states[0], states[1:]
        for anc in head.ancestors:
            if anc.kind == PARALLEL:
                continue
            if all(s in anc.descendants for s in tail):
                return anc
        raise AssertionError("the root is an ancestor of every state")

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

