"""The compiled form of a chart: states and transitions indexed for the step.

Built once by :func:`statekeeper.core.compile.compile_chart`; the step only reads it (apart
from pure caches of event matching and memoised results).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .events import descriptor_matches

__all__ = ["ATOMIC", "COMPOUND", "FINAL", "HISTORY", "PARALLEL", "ROOT_ID", "Node", "TransitionNode"]

ATOMIC, COMPOUND, PARALLEL, FINAL, HISTORY = "atomic", "compound", "parallel", "final", "history"
ROOT_ID = "(root)"

Block = tuple[Callable[[Any], None], ...]


class TransitionNode:
    """A compiled transition."""

    __slots__ = (
        "actions",
        "cond",
        "cond_text",
        "domain",
        "domain_fixed",
        "events",
        "internal",
        "order",
        "source",
        "targets",
    )

    def __init__(self, source: Node, events: tuple[str, ...], order: int) -> None:
        self.source = source
        self.events = events
        self.order = order
        self.cond: Callable[[Any], bool] | None = None
        self.cond_text: str | None = None
        self.targets: tuple[Node, ...] = ()
        self.actions: Block = ()
        self.internal = False
        # Filled by compile (statekeeper.core._index): the transition domain, when it does not
        # depend on recorded history (``domain_fixed``).
        self.domain: Node | None = None
        self.domain_fixed = False

    def matches(self, name: str) -> bool:
        """Whether this transition's descriptors match event ``name``."""
        return any(descriptor_matches(d, name) for d in self.events)

    def __repr__(self) -> str:
        targets = " ".join(t.id for t in self.targets)
        return f"<transition {self.source.id} --{' '.join(self.events) or '(eventless)'}--> {targets}>"


class Node:
    """A compiled state (or the root, id ``ROOT_ID``)."""

    __slots__ = (
        "_by_event",
        "ancestors",
        "children",
        "data_items",
        "depth",
        "descendants",
        "donedata",
        "entry",
        "eventless",
        "exit",
        "finals",
        "history",
        "history_kind",
        "id",
        "ignore",
        "initial",
        "invokes",
        "kind",
        "last",
        "lineage",
        "order",
        "parent",
        "transitions",
    )

    def __init__(self, id: str, kind: str, parent: Node | None, order: int) -> None:  # noqa: A002
        self.id = id
        self.kind = kind
        self.parent = parent
        self.order = order
        self.depth: int = 0 if parent is None else parent.depth + 1
        # Proper ancestors, nearest first, ending with the root.
        self.ancestors: tuple[Node, ...] = () if parent is None else (parent, *parent.ancestors)
        self.children: list[Node] = []
        self.descendants: frozenset[Node] = frozenset()
        self.transitions: list[TransitionNode] = []
        self.eventless: list[TransitionNode] = []
        self.initial: TransitionNode | None = None
        self.entry: tuple[Block, ...] = ()
        self.exit: tuple[Block, ...] = ()
        self.history: list[Node] = []
        self.history_kind: str | None = None
        self.donedata: Callable[[Any], Any] | None = None
        self.invokes: tuple[Any, ...] = ()
        self.data_items: tuple[Any, ...] = ()
        self.ignore: tuple[str, ...] = ()
        self._by_event: dict[str, tuple[TransitionNode, ...]] = {}
        # Filled by compile (statekeeper.core._index): the last document-order position in
        # this subtree (descendants are the positions after ``order`` up to ``last``) and the
        # final children.
        self.last = order
        self.finals: tuple[Node, ...] = ()
        self.lineage: tuple[Node, ...] = ()

    @property
    def is_atomic(self) -> bool:
        return self.kind in (ATOMIC, FINAL)

    def transitions_for(self, name: str) -> tuple[TransitionNode, ...]:
        """Transitions of this state whose descriptors match ``name``, in document order."""
        found = self._by_event.get(name)
        if found is None:
            found = tuple(t for t in self.transitions if t.events and t.matches(name))
            if len(self._by_event) < 4096:
                self._by_event[name] = found
        return found

    def ignores(self, name: str) -> bool:
        return any(descriptor_matches(d, name) for d in self.ignore)

    def __repr__(self) -> str:
        return f"<{self.kind} {self.id}>"

    def __lt__(self, other: Node) -> bool:
        return self.order < other.order
