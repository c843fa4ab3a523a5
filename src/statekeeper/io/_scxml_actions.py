"""Read SCXML executable content (SCXML 4) into :mod:`statekeeper.core.actions` data."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from statekeeper.core.actions import (
    MISSING,
    Action,
    Assign,
    Cancel,
    Content,
    Foreach,
    If,
    Log,
    Param,
    Raise,
    Script,
    Send,
)
from statekeeper.core.durations import parse_duration

from ._guard import decode
from ._scxml_context import SCXML_NS, ReadContext
from ._xml import local_name, namespace

__all__ = ["read_block", "read_content", "read_inline", "read_params", "read_script", "scxml_tag"]

def scxml_tag(ctx: ReadContext, element: ET.Element) -> str:
    """The element's local name; elements of other namespaces are refused."""
    if namespace(element.tag) not in (SCXML_NS, ""):
        raise ctx.error(element, f"unknown element in namespace {namespace(element.tag)!r}")
    return local_name(element.tag)


def read_block(ctx: ReadContext, parent: ET.Element) -> tuple[Action, ...]:
    """Read the executable content children of ``parent``, in document order."""
    return tuple(_read_action(ctx, child) for child in parent)


def _read_action(ctx: ReadContext, element: ET.Element) -> Action:
    tag = scxml_tag(ctx, element)
    reader = _READERS.get(tag)
    if reader is None:
        raise ctx.error(element, "is not executable content here")
    return reader(ctx, element)


def _raise(ctx: ReadContext, element: ET.Element) -> Action:
    attrs = ctx.attributes(element)
    _no_children(ctx, element)
    if not attrs.get("event"):
        raise ctx.error(element, "needs an event")
    return Raise(attrs["event"])


def _log(ctx: ReadContext, element: ET.Element) -> Action:
    attrs = ctx.attributes(element)
    _no_children(ctx, element)
    return Log(attrs.get("label"), ctx.expression(element, "expr", attrs.get("expr")))


def _assign(ctx: ReadContext, element: ET.Element) -> Action:
    attrs = ctx.attributes(element)
    if "location" not in attrs:
        raise ctx.error(element, "needs a location")
    expr = ctx.expression(element, "expr", attrs.get("expr"))
    value = read_inline(ctx, element)
    if expr is not None and value is not MISSING:
        raise ctx.error(element, "has both expr and inline content")
    return Assign(attrs["location"], expr, value)


def _if(ctx: ReadContext, element: ET.Element) -> Action:
    attrs = ctx.attributes(element)
    branches: list[tuple[str | None, list[Action]]] = [
        (_cond(ctx, element, attrs), [])
    ]
    seen_else = False
    for child in element:
        tag = scxml_tag(ctx, child)
        if tag in ("elseif", "else"):
            if seen_else:
                raise ctx.error(child, "follows <else>")
            child_attrs = ctx.attributes(child)
            _no_children(ctx, child)
            seen_else = tag == "else"
            branches.append((None if seen_else else _cond(ctx, child, child_attrs), []))
        else:
            branches[-1][1].append(_read_action(ctx, child))
    return If(tuple((cond, tuple(body)) for cond, body in branches))


def _cond(ctx: ReadContext, element: ET.Element, attrs: dict[str, str]) -> str:
    if "cond" not in attrs:
        raise ctx.error(element, "needs a cond")
    cond = ctx.expression(element, "cond", attrs["cond"])
    assert cond is not None
    return cond


def _foreach(ctx: ReadContext, element: ET.Element) -> Action:
    attrs = ctx.attributes(element)
    if "array" not in attrs or "item" not in attrs:
        raise ctx.error(element, "needs array and item")
    array = ctx.expression(element, "array", attrs["array"])
    assert array is not None
    return Foreach(array, attrs["item"], attrs.get("index"), read_block(ctx, element))


def _send(ctx: ReadContext, element: ET.Element) -> Action:
    attrs = ctx.attributes(element)
    for one, other in (("event", "eventexpr"), ("target", "targetexpr"), ("type", "typeexpr"),
                       ("id", "idlocation"), ("delay", "delayexpr")):
        if one in attrs and other in attrs:
            raise ctx.error(element, f"has both {one} and {other}")
    if "delay" in attrs:
        try:
            parse_duration(attrs["delay"])
        except ValueError as exc:
            raise ctx.error(element, str(exc)) from None
    params, content = read_params(ctx, element)
    namelist = tuple(attrs.get("namelist", "").split())
    if content is not None and (params or namelist):
        raise ctx.error(element, "cannot have <content> together with <param> or namelist")
    return Send(
        event=attrs.get("event"),
        eventexpr=ctx.expression(element, "eventexpr", attrs.get("eventexpr")),
        target=attrs.get("target"),
        targetexpr=ctx.expression(element, "targetexpr", attrs.get("targetexpr")),
        type=attrs.get("type"),
        typeexpr=ctx.expression(element, "typeexpr", attrs.get("typeexpr")),
        id=attrs.get("id"),
        idlocation=attrs.get("idlocation"),
        delay=attrs.get("delay"),
        delayexpr=ctx.expression(element, "delayexpr", attrs.get("delayexpr")),
        namelist=namelist,
        params=params,
        content=content,
    )


def _cancel(ctx: ReadContext, element: ET.Element) -> Action:
    attrs = ctx.attributes(element)
    _no_children(ctx, element)
    if ("sendid" in attrs) == ("sendidexpr" in attrs):
        raise ctx.error(element, "needs exactly one of sendid and sendidexpr")
    return Cancel(attrs.get("sendid"), ctx.expression(element, "sendidexpr", attrs.get("sendidexpr")))


def _script(ctx: ReadContext, element: ET.Element) -> Action:
    return Script(read_script(ctx, element))


def read_script(ctx: ReadContext, element: ET.Element) -> str:
    """The source of a ``<script>``: its text, or the file its ``src`` names."""
    attrs = ctx.attributes(element)
    _no_children(ctx, element)
    if "src" in attrs:
        if (element.text or "").strip():
            raise ctx.error(element, "has both src and inline source")
        ctx.script(element, "")  # refused before its file is read, when untrusted
        source = decode(ctx.read_file(element, attrs["src"]), f"script src={attrs['src']!r}")
    else:
        source = element.text or ""
    return ctx.script(element, source)


# --------------------------------------------------------------------------- param, content


def read_params(ctx: ReadContext,
                element: ET.Element) -> tuple[tuple[Param, ...], Content | None]:
    """Read the ``<param>`` and ``<content>`` children of send, invoke or donedata."""
    params: list[Param] = []
    content: Content | None = None
    for child in element:
        tag = scxml_tag(ctx, child)
        if tag == "param":
            params.append(_param(ctx, child))
        elif tag == "content":
            if content is not None:
                raise ctx.error(child, "appears twice")
            content = read_content(ctx, child)
        elif not (tag == "finalize" and local_name(element.tag) == "invoke"):
            raise ctx.error(child, f"is not allowed inside <{local_name(element.tag)}>")
    return tuple(params), content


def _param(ctx: ReadContext, element: ET.Element) -> Param:
    attrs = ctx.attributes(element)
    _no_children(ctx, element)
    if "name" not in attrs:
        raise ctx.error(element, "needs a name")
    if ("expr" in attrs) == ("location" in attrs):
        raise ctx.error(element, "needs exactly one of expr and location")
    return Param(attrs["name"], ctx.expression(element, "expr", attrs.get("expr")),
                 attrs.get("location"))


def read_content(ctx: ReadContext, element: ET.Element) -> Content:
    """Read a ``<content>``: an expression, or inline text or markup taken as a literal."""
    attrs = ctx.attributes(element)
    value = read_inline(ctx, element)
    if "expr" in attrs:
        if value is not MISSING:
            raise ctx.error(element, "has both expr and inline content")
        return Content(expr=ctx.expression(element, "expr", attrs["expr"]))
    return Content(value=None if value is MISSING else value)


def read_inline(ctx: ReadContext, element: ET.Element) -> Any:
    """The inline content of data, assign or content, as a literal (``MISSING`` if none).

    An inline ``<scxml>`` document becomes a :class:`~statekeeper.Chart`; other markup an
    ``ElementTree`` element; text is JSON, a Python literal, or a space-normalised string.
    """
    children = list(element)
    if len(children) > 1:
        raise ctx.error(element, "inline markup must have a single root element")
    if children:
        if (element.text or "").strip():
            raise ctx.error(element, "mixes text and markup")
        child = children[0]
        if local_name(child.tag) == "scxml" and namespace(child.tag) in (SCXML_NS, ""):
            return ctx.read_child(child)
        detached = copy.deepcopy(child)
        detached.tail = None
        return detached
    text = element.text or ""
    if not text.strip():
        return MISSING
    value = ctx.literal(element, text)
    if isinstance(value, ET.Element) and local_name(value.tag) == "scxml":
        return ctx.read_child(value)
    return value


def _no_children(ctx: ReadContext, element: ET.Element) -> None:
    for child in element:
        raise ctx.error(child, f"is not allowed inside <{local_name(element.tag)}>")


_READERS: dict[str, Callable[[ReadContext, ET.Element], Action]] = {
    "raise": _raise,
    "log": _log,
    "assign": _assign,
    "if": _if,
    "foreach": _foreach,
    "send": _send,
    "cancel": _cancel,
    "script": _script,
}
