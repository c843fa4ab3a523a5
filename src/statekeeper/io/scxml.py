"""Read W3C SCXML documents into statekeeper charts.

``read_scxml`` maps every SCXML element onto :mod:`statekeeper.core.model` and
:mod:`statekeeper.core.actions`, so an SCXML document becomes the same plain data a chart
written in Python or YAML is.  ``load_scxml`` also compiles it.

Expressions are Python source (the documents' ``ecmascript`` operators ``===``, ``&&``, ``||``,
``!`` are translated).  Evaluating them runs arbitrary code, so a document with expressions is
refused unless it is read with ``trusted=True``.  A ``datamodel="null"`` document never
evaluates anything: its conditions are ``In('id')`` or names of guards bound at compile time.

An untrusted document reads no file (``<data src>``) unless the caller names the folder it may
read from or a loader, and every document is held to :class:`~statekeeper.Limits`; see
docs/security.md.

Example:
    >>> chart = read_scxml('''<scxml xmlns="http://www.w3.org/2005/07/scxml" initial="a">
    ...   <state id="a"><transition event="go" target="b"/></state>
    ...   <final id="b"/>
    ... </scxml>''')
    >>> [s.id for s in chart.states]
    ['a', 'b']

"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from statekeeper.core._bounds import check_chart_bounds, shape_problem
from statekeeper.core._shapes import check_stuck_after
from statekeeper.core.actions import MISSING
from statekeeper.core.compile import CompiledChart, compile_chart
from statekeeper.core.errors import ChartError
from statekeeper.core.limits import DEFAULT_LIMITS, Limits
from statekeeper.core.model import (
    SCXML_INVOKE_TYPES,
    Chart,
    DataItem,
    DoneData,
    Invoke,
    State,
    Transition,
)

from ._files import read_limited
from ._guard import check_size, decode
from ._scxml_actions import read_block, read_inline, read_params, read_script, scxml_tag
from ._scxml_context import STATEKEEPER_NS, Loader, ReadContext
from ._xml import local_name, parse_xml

__all__ = ["SCXML_TYPES", "STATEKEEPER_NS", "load_scxml", "read_scxml"]

#: The ``<invoke type>`` values that mean "an SCXML child session".
SCXML_TYPES = SCXML_INVOKE_TYPES  # the name this module has always exported
_STATES = ("state", "parallel", "final", "history")
_CHILDREN: dict[str, frozenset[str]] = {
    "state": frozenset({"onentry", "onexit", "transition", "initial", "datamodel", "invoke",
                        *_STATES}),
    "parallel": frozenset({"onentry", "onexit", "transition", "datamodel", "invoke", "state",
                           "parallel", "history"}),
    "final": frozenset({"onentry", "onexit", "donedata"}),
    "history": frozenset({"transition"}),
}


def read_scxml(text_or_path: str | bytes | os.PathLike[str], *, trusted: bool = False,
               base_dir: str | os.PathLike[str] | None = None, loader: Loader | None = None,
               limits: Limits = DEFAULT_LIMITS) -> Chart:
    """Read an SCXML document (its text, or a path to it) into a :class:`~statekeeper.Chart`.

    Args:
        text_or_path: the document text (``bytes``, or a string starting with ``<``) or a
            file path.
        trusted: keep Python expressions and scripts (they run when the chart runs).  Only for
            documents you wrote or trust.  A trusted document may read any regular file its
            ``src`` attributes name, relative to ``base_dir``.
        base_dir: the folder ``<data src>`` and ``<script src>`` references are read from.
            An untrusted document reads files only when this is given, and then only regular
            files inside it, named by relative paths.  A trusted document defaults it to its
            own folder (or the working directory for text).
        loader: instead of files, ``loader(src)`` returns the content (``str`` or ``bytes``)
            of each ``src`` reference; for documents kept in a database or a package.
        limits: bounds on the document's size, depth, states and transitions, and on each
            ``src`` it reads (see docs/security.md).

    Raises:
        ChartError: the document is not SCXML, uses an unknown element or attribute (the
            message names it and its line), has expressions and ``trusted`` is false, or
            names a ``src`` it may not read.
        LimitExceeded: the document (or a ``src``) is bigger or deeper than ``limits``.

    """
    if base_dir is not None and loader is not None:
        raise TypeError("read_scxml() takes base_dir= or loader=, not both")
    if loader is not None and not callable(loader):
        raise TypeError(f"read_scxml(loader=) takes a callable, not {type(loader).__name__}")
    if base_dir is not None and not isinstance(base_dir, str | os.PathLike):
        raise TypeError(f"read_scxml(base_dir=) takes a folder path (a str or a Path), not "
                        f"{type(base_dir).__name__}")
    if not isinstance(limits, Limits):
        raise TypeError(f"read_scxml(limits=) takes a Limits, not {type(limits).__name__}")
    source, path = _source(text_or_path, limits)
    parsed = parse_xml(source, limits)
    folder = Path(base_dir) if base_dir is not None else None
    if folder is None and trusted and loader is None:
        folder = path.parent if path is not None else Path.cwd()
    default_name = path.stem if path is not None else "scxml"
    ctx = ReadContext(parsed.lines, trusted=trusted, python=True, base_dir=folder,
                      loader=loader, limits=limits)
    chart = _read_document(ctx, parsed.root, default_name)
    check_chart_bounds(chart, limits)
    return chart


def load_scxml(path: str | os.PathLike[str], *, trusted: bool = False,
               base_dir: str | os.PathLike[str] | None = None, loader: Loader | None = None,
               limits: Limits = DEFAULT_LIMITS, **compile_kwargs: Any) -> CompiledChart:
    """Read and compile an SCXML file; ``compile_kwargs`` go to :func:`compile_chart`.

    ``trusted``, ``base_dir``, ``loader`` and ``limits`` are :func:`read_scxml`'s.
    """
    chart = read_scxml(path, trusted=trusted, base_dir=base_dir, loader=loader, limits=limits)
    return compile_chart(chart, trusted=trusted, limits=limits, **compile_kwargs)


def _source(text_or_path: str | bytes | os.PathLike[str],
            limits: Limits) -> tuple[str | bytes, Path | None]:
    if isinstance(text_or_path, bytes) or (
            isinstance(text_or_path, str)
            and text_or_path.lstrip("\ufeff \t\r\n").startswith("<")):
        check_size(text_or_path, limits, "SCXML document")
        return text_or_path, None
    if not isinstance(text_or_path, (str, os.PathLike)):
        raise TypeError(f"read_scxml() takes SCXML text or a path, not "
                        f"{type(text_or_path).__name__}")
    path = Path(text_or_path)
    return read_limited(path, limits.max_document_bytes, f"SCXML file {str(path)!r}"), path


def _read_document(parent: ReadContext, root: ET.Element, default_name: str) -> Chart:
    if local_name(root.tag) != "scxml":
        raise ChartError(f"not an SCXML document: the root element is <{local_name(root.tag)}>")
    datamodel = root.get("datamodel")
    if datamodel == "xpath":
        raise ChartError("the xpath datamodel is not supported (use python or null)")
    ctx = ReadContext(parent.lines, trusted=parent.trusted, python=datamodel != "null",
                      base_dir=parent.base_dir, loader=parent.loader, limits=parent.limits)
    ctx.ids = {el.get("id", "") for el in root.iter()} - {""}
    ctx.read_child = lambda element: _read_document(ctx, element, "inline")
    return _read_chart(ctx, root, default_name)


def _read_chart(ctx: ReadContext, root: ET.Element, default_name: str) -> Chart:
    attrs = ctx.attributes(root)
    states: list[State] = []
    data: list[DataItem] = []
    scripts: list[str] = []
    for child in root:
        tag = scxml_tag(ctx, child)
        if tag in ("state", "parallel", "final"):
            states.append(_read_state(ctx, child, tag))
        elif tag == "datamodel":
            data.extend(_read_datamodel(ctx, child))
        elif tag == "script":
            scripts.append(read_script(ctx, child))
        else:
            raise ctx.error(child, "is not allowed inside <scxml>")
    binding = attrs.get("binding", "early")
    if binding not in ("early", "late"):
        raise ctx.error(root, f"binding must be 'early' or 'late', not {binding!r}")
    return Chart(
        attrs.get("name") or default_name,
        states=tuple(states),
        initial=attrs.get("initial"),
        data=tuple(data),
        datamodel="python" if ctx.python and (ctx.trusted or ctx.used_expressions) else "functions",
        binding=binding,  # type: ignore[arg-type]
        script="\n".join(scripts) if scripts else None,
    )


# --------------------------------------------------------------------------- states


def _read_state(ctx: ReadContext, element: ET.Element, tag: str) -> State:
    attrs = ctx.attributes(element)
    if tag == "history":
        return _read_history(ctx, element, attrs)
    parts = _StateParts()
    allowed = _CHILDREN[tag]
    for child in element:
        child_tag = scxml_tag(ctx, child)
        if child_tag not in allowed:
            raise ctx.error(child, f"is not allowed inside <{tag}>")
        parts.add(ctx, child, child_tag)
    if "initial" in attrs and parts.initial is not None:
        raise ctx.error(element, "has both an initial attribute and an <initial> child")
    stuck_after = ctx.own_attributes(element).get("stuck-after")
    if stuck_after is not None:
        try:
            check_stuck_after(stuck_after, tag, "")
        except ChartError as exc:
            raise ctx.error(element, f"sk:stuck-after: {exc.reason}") from None
    state = State(
        id=ctx.state_id(element),
        states=tuple(parts.states),
        initial=attrs.get("initial") or parts.initial,
        transitions=tuple(parts.transitions),
        entry=tuple(parts.entry),
        exit=tuple(parts.exit),
        invoke=tuple(parts.invokes),
        data=tuple(parts.data),
        donedata=parts.donedata,
        initial_actions=parts.initial_actions,
        kind=tag if tag in ("parallel", "final") else None,  # type: ignore[arg-type]
        stuck_after=stuck_after,
    )
    problem = shape_problem(state)
    if problem is not None:
        raise ctx.error(element, f"id={state.id!r}: {problem}")
    return state


class _StateParts:
    """The children of one state, collected in document order."""

    def __init__(self) -> None:
        self.states: list[State] = []
        self.transitions: list[Transition] = []
        self.entry: list[tuple[Any, ...]] = []
        self.exit: list[tuple[Any, ...]] = []
        self.invokes: list[Invoke] = []
        self.data: list[DataItem] = []
        self.donedata: DoneData | None = None
        self.initial: str | None = None
        self.initial_actions: tuple[Any, ...] = ()

    def add(self, ctx: ReadContext, child: ET.Element, tag: str) -> None:
        if tag in _STATES:
            self.states.append(_read_state(ctx, child, tag))
        elif tag == "transition":
            self.transitions.append(_read_transition(ctx, child))
        elif tag in ("onentry", "onexit"):
            ctx.attributes(child)
            (self.entry if tag == "onentry" else self.exit).append(read_block(ctx, child))
        elif tag == "invoke":
            self.invokes.append(_read_invoke(ctx, child))
        elif tag == "datamodel":
            self.data.extend(_read_datamodel(ctx, child))
        elif tag == "donedata":
            if self.donedata is not None:
                raise ctx.error(child, "appears twice")
            self.donedata = _read_donedata(ctx, child)
        elif tag == "initial":
            if self.initial is not None:
                raise ctx.error(child, "appears twice")
            self.initial, self.initial_actions = _read_initial(ctx, child)


def _read_history(ctx: ReadContext, element: ET.Element, attrs: dict[str, str]) -> State:
    kind = attrs.get("type", "shallow")
    if kind not in ("shallow", "deep"):
        raise ctx.error(element, f"type must be 'shallow' or 'deep', not {kind!r}")
    transitions: list[Transition] = []
    for child in element:
        if scxml_tag(ctx, child) != "transition" or transitions:
            raise ctx.error(child, "a history state holds one default <transition> only")
        transitions.append(_read_transition(ctx, child))
    return State(id=ctx.state_id(element), kind="history", history=kind,  # type: ignore[arg-type]
                 transitions=tuple(transitions))


def _read_initial(ctx: ReadContext, element: ET.Element) -> tuple[str, tuple[Any, ...]]:
    ctx.attributes(element)
    children = list(element)
    if len(children) != 1 or scxml_tag(ctx, children[0]) != "transition":
        raise ctx.error(element, "must hold exactly one <transition>")
    transition = _read_transition(ctx, children[0])
    if transition.event or transition.cond or not transition.targets:
        raise ctx.error(children[0], "an initial transition has a target and no event or cond")
    return " ".join(transition.targets), tuple(transition.actions)


def _read_transition(ctx: ReadContext, element: ET.Element) -> Transition:
    attrs = ctx.attributes(element)
    kind = attrs.get("type", "external")
    if kind not in ("external", "internal"):
        raise ctx.error(element, f"type must be 'external' or 'internal', not {kind!r}")
    return Transition(
        target=attrs.get("target") or None,
        event=attrs.get("event") or None,
        # SEM-13: an empty cond is no condition (the converted W3C test 233 writes cond="").
        cond=ctx.expression(element, "cond", (attrs.get("cond") or "").strip() or None),
        actions=read_block(ctx, element),
        type=kind,  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------- data


def _read_datamodel(ctx: ReadContext, element: ET.Element) -> list[DataItem]:
    ctx.attributes(element)
    items = []
    for child in element:
        if scxml_tag(ctx, child) != "data":
            raise ctx.error(child, "is not allowed inside <datamodel>")
        items.append(_read_data(ctx, child))
    return items


def _read_data(ctx: ReadContext, element: ET.Element) -> DataItem:
    attrs = ctx.attributes(element)
    if "id" not in attrs:
        raise ctx.error(element, "needs an id")
    inline = read_inline(ctx, element)
    given = [k for k, present in (("expr", "expr" in attrs), ("src", "src" in attrs),
                                  ("inline content", inline is not MISSING)) if present]
    if len(given) > 1:
        raise ctx.error(element, f"has more than one of {', '.join(given)}")
    if "src" in attrs:
        text = decode(ctx.read_file(element, attrs["src"]),
                      f"<data id={attrs['id']!r}> src={attrs['src']!r}")
        return DataItem(attrs["id"], value=ctx.literal(element, text))
    expr = ctx.expression(element, "expr", attrs.get("expr"))
    return DataItem(attrs["id"], expr=expr, value=inline)


def _read_donedata(ctx: ReadContext, element: ET.Element) -> DoneData:
    ctx.attributes(element)
    params, content = read_params(ctx, element)
    if content is not None and params:
        raise ctx.error(element, "cannot have both <content> and <param>")
    return DoneData(params, content)


# --------------------------------------------------------------------------- invoke


def _read_invoke(ctx: ReadContext, element: ET.Element) -> Invoke:
    attrs = ctx.attributes(element)
    for one, other in (("type", "typeexpr"), ("src", "srcexpr"), ("id", "idlocation")):
        if one in attrs and other in attrs:
            raise ctx.error(element, f"has both {one} and {other}")
    autoforward = attrs.get("autoforward", "false")
    if autoforward not in ("true", "false"):
        raise ctx.error(element, f"autoforward must be 'true' or 'false', not {autoforward!r}")
    params, content = read_params(ctx, element)
    finalize: tuple[Any, ...] = ()
    for child in element:
        if local_name(child.tag) == "finalize":
            ctx.attributes(child)
            finalize = read_block(ctx, child)
    if content is not None and ("src" in attrs or "srcexpr" in attrs):
        raise ctx.error(element, "cannot have both src and <content>")
    kind = attrs.get("type")
    return Invoke(
        type="scxml" if kind is None or kind in SCXML_TYPES else kind,
        typeexpr=ctx.expression(element, "typeexpr", attrs.get("typeexpr")),
        src=attrs.get("src"),
        srcexpr=ctx.expression(element, "srcexpr", attrs.get("srcexpr")),
        id=attrs.get("id"),
        idlocation=attrs.get("idlocation"),
        namelist=tuple(attrs.get("namelist", "").split()),
        params=params,
        content=content,
        autoforward=autoforward == "true",
        finalize=finalize,
    )
