"""The part of a chart a diagram draws: the state tree, initial arrows and labelled edges.

Both exporters (Mermaid and DOT) draw from this one reading of the chart, so they cannot
disagree about what a chart looks like.  It reads the :class:`~statekeeper.Chart` definition,
not the compiled chart, so it needs no bound guards and evaluates nothing: a diagram can be
drawn from any chart file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from statekeeper.core.errors import ChartError
from statekeeper.core.model import Chart, State, Transition
from statekeeper.core.validate import did_you_mean

from ._dictform_common import duration_text

__all__ = ["Edge", "Graph", "Vertex"]


@dataclass(eq=False)
class Vertex:
    """A state (or the chart itself, as the root, with ``id`` ``None``) in document order."""

    id: str | None
    kind: str
    parent: Vertex | None = None
    children: list[Vertex] = field(default_factory=list)
    history: str | None = None
    initial: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def is_container(self) -> bool:
        return self.kind in ("compound", "parallel") or self.id is None

    def ancestors(self) -> Iterator[Vertex]:
        """Proper ancestors, nearest first, ending with the root."""
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


@dataclass(frozen=True)
class Edge:
    """A transition arrow from ``source`` to one ``target``, drawn in ``scope``'s box."""

    source: str
    target: str
    label: str
    scope: Vertex


class Graph:
    """A chart read for drawing.

    Attributes:
        root: the chart as a vertex whose children are the top-level states.
        vertices: every state by id, in document order.
        edges: every transition with a target, one per target, in document order.

    """

    def __init__(self, chart: Chart) -> None:
        self.chart = chart
        self.root = Vertex(None, "compound")
        self.vertices: dict[str, Vertex] = {}
        self._specs: dict[str, State] = {}
        self.root.initial = _initial(chart.initial_ids, chart.children)
        for spec in chart.children:
            self._add(spec, self.root)
        self.edges: list[Edge] = []
        for state_id, spec in self._specs.items():
            self._add_edges(self.vertices[state_id], spec)

    @property
    def title(self) -> str:
        """The chart's name and version, as the diagram's title."""
        return f"{self.chart.name} v{self.chart.version}"

    def _add(self, spec: State, parent: Vertex) -> None:
        assert spec.id is not None
        kind = str(spec.kind)
        if kind == "compound" and not spec.children:
            kind = "atomic"  # as compile_chart does
        vertex = Vertex(spec.id, kind, parent, history=spec.history)
        if kind == "compound":
            vertex.initial = _initial(spec.initial_ids, spec.children)
        parent.children.append(vertex)
        self.vertices[spec.id] = vertex
        self._specs[spec.id] = spec
        for child in spec.children:
            self._add(child, vertex)

    def _add_edges(self, vertex: Vertex, spec: State) -> None:
        labelled: list[tuple[str, Transition]] = []
        for t in spec.transitions:
            if vertex.kind == "history":
                labelled.append(("", t))  # the default of a history state
            else:
                labelled.append((t.event or "always", t))
        for delay, transitions in spec.after_transitions.items():
            labelled.extend((f"after {_delay(delay)}", t) for t in transitions)
        for event, t in labelled:
            label = f"{event} [{t.cond}]" if t.cond else event
            targets = [self._vertex(i, vertex) for i in t.targets]
            if not t.targets:
                vertex.notes.append(f"on {label}")
            for target in targets:
                scope = _scope(vertex, target)
                self.edges.append(Edge(vertex.id or "", target.id or "", label.strip(), scope))

    def _vertex(self, state_id: str, source: Vertex) -> Vertex:
        try:
            return self.vertices[state_id]
        except KeyError:
            hint = did_you_mean(state_id, self.vertices)
            raise ChartError(f"unknown target {state_id!r}{hint}", source.id) from None

    def scoped_edges(self, scope: Vertex) -> list[Edge]:
        """The edges drawn in ``scope``'s box, in document order."""
        return [edge for edge in self.edges if edge.scope is scope]


def _initial(ids: tuple[str, ...] | None, children: tuple[State, ...]) -> tuple[str, ...]:
    if ids:
        return ids
    for child in children:
        if child.kind != "history" and child.id is not None:
            return (child.id,)
    return ()


def _scope(source: Vertex, target: Vertex) -> Vertex:
    """The innermost box holding both ends strictly inside it, never a parallel's box.

    A parallel state's box is split into its regions, and an arrow between regions belongs
    to none of them, so it is drawn one level up.
    """
    target_ancestors = set(map(id, target.ancestors()))
    for box in source.ancestors():
        if id(box) in target_ancestors and box.kind != "parallel":
            return box
    raise AssertionError("the root holds every state")


def _delay(delay: Any) -> str:
    text = duration_text(delay)
    return text if isinstance(text, str) else f"{text}s"
