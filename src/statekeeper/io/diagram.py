"""Draw a chart as text: Mermaid ``stateDiagram-v2`` and Graphviz DOT.

Diagrams are generated from the chart, never drawn by hand, so they cannot drift from the
code (the "generated diagrams" practice in DESIGN.md).  The output is plain text and
deterministic (document order throughout), so it can be committed and diffed, and a test can
compare it with a golden copy.  State ids that the target syntax cannot hold as they are
(dots, spaces, reserved words) are escaped; the original id stays the label.

Drawing conventions, shared by both formats:

* compound states are boxes, parallel states are boxes split into regions (Mermaid ``--``)
  or drawn dashed (DOT);
* ``[*] -->`` (a dot in DOT) marks each box's initial state; final states lead to ``[*]``
  (Mermaid) or are double circles (DOT);
* an arrow is labelled ``event [guard]``; eventless transitions read ``always``, ``after``
  transitions ``after 5m``; a history state is a node labelled ``H`` (shallow) or ``H*`` (deep);
* a transition without a target does not change state, so it is written on its state
  instead of as an arrow.
"""

from __future__ import annotations

import re
import unicodedata

from statekeeper.core.compile import CompiledChart
from statekeeper.core.model import Chart

from ._diagram_graph import Edge, Graph, Vertex

__all__ = ["to_dot", "to_mermaid"]

_INDENT = "    "
_MERMAID_RESERVED = frozenset({
    "as", "class", "classdef", "click", "direction", "end", "hide", "left", "linkstyle",
    "note", "of", "right", "state", "style",
})
_LINE_BREAKS = re.compile("[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_MERMAID_ESCAPES = {
    "#": "#35;", ";": "#59;", ":": "#58;", '"': "#quot;", "{": "#123;", "}": "#125;",
    "<": "#lt;", ">": "#gt;", "\n": " ", "\r": " ",
}


def _graph(chart: Chart | CompiledChart) -> Graph:
    if isinstance(chart, CompiledChart):
        return Graph(chart.definition)
    if isinstance(chart, Chart):
        return Graph(chart)
    raise TypeError(f"expected a Chart or a CompiledChart, not {type(chart).__name__}")


def _history_label(vertex: Vertex) -> str:
    return "H*" if vertex.history == "deep" else "H"


# --------------------------------------------------------------------------- Mermaid


def to_mermaid(chart: Chart | CompiledChart) -> str:
    """Return ``chart`` as a Mermaid ``stateDiagram-v2`` document.

    Example:
        >>> from statekeeper import Chart, State, Final
        >>> print(to_mermaid(Chart("door", states={
        ...     "closed": State(on={"open": "opened"}), "opened": Final()})), end="")
        %% door v1
        stateDiagram-v2
            closed
            opened
            opened --> [*]
            [*] --> closed
            closed --> opened : open

    """
    graph = _graph(chart)
    ids = _mermaid_ids(graph)
    lines = [f"%% {_mermaid_text(graph.title)}", "stateDiagram-v2"]
    _mermaid_box(graph, graph.root, ids, lines, 1)
    return "\n".join(lines) + "\n"


def _mermaid_ids(graph: Graph) -> dict[str, str]:
    """Mermaid-safe ids, unique and stable (document order decides who keeps a name)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for state_id in graph.vertices:
        base = re.sub(r"[^A-Za-z0-9_]", "_", state_id)
        if not base or base[0].isdigit():
            base = f"s_{base}"
        if base.lower() in _MERMAID_RESERVED:
            base = f"{base}_"
        candidate, n = base, 1
        while candidate in used:
            n += 1
            candidate = f"{base}_{n}"
        used.add(candidate)
        out[state_id] = candidate
    return out


def _mermaid_text(text: str) -> str:
    return "".join(_MERMAID_ESCAPES.get(char) or _mermaid_control(char) for char in text)


def _mermaid_control(char: str) -> str:
    # Control, format and line-separator characters would break the line-based syntax.
    category = unicodedata.category(char)
    return f"#{ord(char)};" if category[0] == "C" or category in ("Zl", "Zp") else char


def _mermaid_box(graph: Graph, box: Vertex, ids: dict[str, str], lines: list[str],
                 depth: int) -> None:
    pad = _INDENT * depth
    regions = 0
    for child in box.children:
        # In a parallel box every child but a history node is a region, split by "--".
        if box.kind == "parallel" and child.kind != "history":
            if regions:
                lines.append(f"{pad}--")
            regions += 1
        _mermaid_state(graph, child, ids, lines, depth)
    # Arrows only after the states are declared: Mermaid puts a state where it first sees
    # it, and an initial state may be deep inside a child box.
    lines.extend(f"{pad}[*] --> {ids[target]}" for target in box.initial)
    lines.extend(f"{pad}{_mermaid_edge(edge, ids)}" for edge in graph.scoped_edges(box))


def _mermaid_state(graph: Graph, vertex: Vertex, ids: dict[str, str], lines: list[str],
                   depth: int) -> None:
    pad = _INDENT * depth
    assert vertex.id is not None
    sid = ids[vertex.id]
    if vertex.kind == "history":
        lines.append(f'{pad}state "{_history_label(vertex)}" as {sid}')
    elif sid != vertex.id:
        lines.append(f'{pad}state "{_mermaid_text(vertex.id)}" as {sid}')
    elif not vertex.is_container:
        lines.append(f"{pad}{sid}")
    if vertex.is_container:
        lines.append(f"{pad}state {sid} {{")
        _mermaid_box(graph, vertex, ids, lines, depth + 1)
        lines.append(f"{pad}}}")
    if vertex.kind == "final":
        lines.append(f"{pad}{sid} --> [*]")
    for note in vertex.notes:
        if vertex.is_container:
            lines.append(f"{pad}note right of {sid} : {_mermaid_text(note)}")
        else:
            lines.append(f"{pad}{sid} : {_mermaid_text(note)}")


def _mermaid_edge(edge: Edge, ids: dict[str, str]) -> str:
    arrow = f"{ids[edge.source]} --> {ids[edge.target]}"
    return f"{arrow} : {_mermaid_text(edge.label)}" if edge.label else arrow


# --------------------------------------------------------------------------- DOT


def to_dot(chart: Chart | CompiledChart) -> str:
    """Return ``chart`` as a Graphviz DOT ``digraph``.

    Compound and parallel states are ``cluster_<id>`` subgraphs (parallel ones dashed),
    each with an invisible anchor node named like the state, so that arrows can start and
    end at the box (``compound=true`` with ``ltail``/``lhead``).  Render with
    ``dot -Tsvg chart.dot -o chart.svg``.
    """
    graph = _graph(chart)
    taken = set(graph.vertices)
    lines = [
        f"digraph {_dot_quote(graph.chart.name)} {{",
        f"{_INDENT}label={_dot_quote(graph.title)};",
        f'{_INDENT}labelloc="t";',
        f"{_INDENT}compound=true;",
        f'{_INDENT}node [shape="box", style="rounded"];',
    ]
    _dot_box(graph, graph.root, taken, lines, 1)
    lines.extend(f"{_INDENT}{_dot_edge(graph, e.source, e.target, e.label)}" for e in graph.edges)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + _LINE_BREAKS.sub(" ", escaped) + '"'


def _dot_label(vertex: Vertex, name: str) -> str:
    return _dot_quote("\n".join([name, *vertex.notes]))


def _dot_box(graph: Graph, box: Vertex, taken: set[str], lines: list[str], depth: int) -> None:
    pad = _INDENT * depth
    if box.initial:
        base = "[*]" if box.id is None else f"[*] {box.id}"
        start = base
        while start in taken:
            start += "'"
        taken.add(start)
        lines.append(f'{pad}{_dot_quote(start)} [shape="point", width=0.15];')
    for child in box.children:
        assert child.id is not None
        node = _dot_quote(child.id)
        if child.is_container:
            style = "dashed" if child.kind == "parallel" else "rounded"
            lines.append(f"{pad}subgraph {_dot_quote('cluster_' + child.id)} {{")
            lines.append(f"{pad}{_INDENT}label={_dot_label(child, child.id)};")
            lines.append(f'{pad}{_INDENT}style="{style}";')
            lines.append(f'{pad}{_INDENT}{node} [shape="point", style="invis", width=0, '
                         'height=0, label=""];')
            _dot_box(graph, child, taken, lines, depth + 1)
            lines.append(f"{pad}}}")
        elif child.kind == "history":
            lines.append(f'{pad}{node} [shape="circle", '
                         f"label={_dot_quote(_history_label(child))}];")
        elif child.kind == "final":
            lines.append(f'{pad}{node} [shape="doublecircle", label={_dot_label(child, child.id)}];')
        elif child.notes:
            lines.append(f"{pad}{node} [label={_dot_label(child, child.id)}];")
        else:
            lines.append(f"{pad}{node};")
    if box.initial:
        # After the children: an edge to a node not yet declared would declare it here.
        lines.extend(f"{pad}{_dot_edge(graph, start, target, '')}" for target in box.initial)


def _dot_edge(graph: Graph, source: str, target: str, label: str) -> str:
    attrs = []
    if label:
        attrs.append(f"label={_dot_quote(label)}")
    tail, head = graph.vertices.get(source), graph.vertices[target]
    if tail is not None and tail.is_container and not _within(head, tail):
        attrs.append(f"ltail={_dot_quote('cluster_' + source)}")
    if head.is_container and (tail is None or not _within(tail, head)):
        attrs.append(f"lhead={_dot_quote('cluster_' + target)}")
    suffix = f" [{', '.join(attrs)}]" if attrs else ""
    return f"{_dot_quote(source)} -> {_dot_quote(target)}{suffix};"


def _within(vertex: Vertex, box: Vertex) -> bool:
    """Whether ``vertex`` is ``box`` or inside it."""
    return vertex is box or any(a is box for a in vertex.ancestors())
