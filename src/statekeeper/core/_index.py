"""Indexes of a compiled chart that keep the step linear in the states it touches.

The SCXML pseudo-code (https://www.w3.org/TR/scxml/#AlgorithmforSCXMLInterpretation) recomputes
a transition's domain each time it needs it, compares exit sets pairwise to remove conflicts
and asks "is any state to enter inside this region?" by scanning every state to enter.  On a
chart with a thousand parallel regions those loops are quadratic.  What does not depend on the
configuration is computed here once, at compile time:

- ``TransitionNode.domain``: the transition domain of every transition whose targets name no
  history state (a history target's effective targets depend on the recorded history, so its
  domain is still computed per step);
- ``Node.last``: the highest document-order position in a state's subtree, so a state's
  descendants are the positions ``(node.order, node.last]`` of any list sorted by document
  order;
- ``Node.finals``: a state's final children, for "is this region in a final state?";
- ``Node.lineage``: a state and its proper ancestors but the root, the states whose
  transitions an active atomic state offers, nearest first;
- :class:`ChartIndex`: which states have eventless transitions, and, per event descriptor,
  which states have transitions on it, so an event no active state reacts to is found
  without walking the configuration.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .nodes import FINAL, HISTORY, PARALLEL, Node, TransitionNode

__all__ = ["ChartIndex", "find_lcca", "index_chart", "transition_domain"]

#: event names whose reacting states a chart remembers at most (more are computed each time)
_NAMES_KEPT = 4096


class ChartIndex:
    """Which states react to what, so the step looks only at states that can react."""

    __slots__ = ("_by_descriptor", "_by_name", "_wildcard", "eventless", "ignoring")

    def __init__(self, nodes: Iterable[Node]) -> None:
        by_descriptor: dict[str, set[Node]] = {}
        wildcard: set[Node] = set()
        eventless: set[Node] = set()
        ignoring = False
        for node in nodes:
            ignoring = ignoring or bool(node.ignore)
            if node.eventless:
                eventless.add(node)
            for transition in node.transitions:
                for descriptor in transition.events:
                    if descriptor == "*":
                        wildcard.add(node)
                    else:
                        by_descriptor.setdefault(_stem(descriptor), set()).add(node)
        self._by_descriptor = {stem: frozenset(found) for stem, found in by_descriptor.items()}
        self._wildcard = frozenset(wildcard)
        self._by_name: dict[str, frozenset[Node]] = {}
        #: the states with eventless transitions
        self.eventless = frozenset(eventless)
        #: whether any state declares events it ignores
        self.ignoring = ignoring

    def reacting(self, name: str) -> frozenset[Node]:
        """The states with a transition whose descriptors match event ``name``.

        A descriptor matches the names it equals and those it is a prefix of up to a dot
        (:func:`~statekeeper.core.events.descriptor_matches`), so the candidates are the
        name and its prefixes ending before a dot.
        """
        found = self._by_name.get(name)
        if found is None:
            by_descriptor = self._by_descriptor
            found = by_descriptor.get(name, frozenset()) | self._wildcard
            dot = name.find(".")
            while dot >= 0:
                found |= by_descriptor.get(name[:dot], frozenset())
                dot = name.find(".", dot + 1)
            if len(self._by_name) < _NAMES_KEPT:
                self._by_name[name] = found
        return found


def _stem(descriptor: str) -> str:
    """The name part of a descriptor, as :func:`~statekeeper.core.events.descriptor_matches`."""
    if descriptor.endswith(".*"):
        return descriptor[:-2]
    if descriptor.endswith("."):
        return descriptor[:-1]
    return descriptor


def transition_domain(transition: TransitionNode, targets: Sequence[Node]) -> Node | None:
    """SCXML getTransitionDomain, given the transition's effective targets."""
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
    return find_lcca(source, targets)


def find_lcca(head: Node, tail: Iterable[Node]) -> Node:
    """SCXML findLCCA: the nearest proper ancestor of ``head``, not parallel, holding ``tail``."""
    tail = tuple(tail)
    for anc in head.ancestors:
        if anc.kind == PARALLEL:
            continue
        if all(s in anc.descendants for s in tail):
            return anc
    raise AssertionError("the root is an ancestor of every state")


def index_chart(root: Node, nodes: Iterable[Node]) -> ChartIndex:
    """Fill in the indexes of the module docstring for ``root`` and every node."""
    everything = (root, *nodes)
    for node in everything:
        node.last = max((d.order for d in node.descendants), default=node.order)
        node.finals = tuple(c for c in node.children if c.kind == FINAL)
        node.lineage = (node, *node.ancestors[:-1])
        for transition in (*node.transitions, *node.eventless, node.initial):
            if transition is None or any(t.kind == HISTORY for t in transition.targets):
                continue
            transition.domain = transition_domain(transition, tuple(dict.fromkeys(
                transition.targets)))
            transition.domain_fixed = True
    return ChartIndex(everything)
