"""Parse XML into ElementTree elements while remembering each element's line number.

``xml.etree.ElementTree`` forgets where an element came from, but a chart error is only useful
when it names the line.  This module drives ``xml.parsers.expat`` directly (stdlib, the same
parser ElementTree uses) and records the line of every start tag.

The same handlers enforce :class:`~statekeeper.core.limits.Limits` while parsing: nesting depth
(the readers recurse per element), the number of states and transitions.  Entity declarations
are refused (SCXML needs none, and they are how XML documents expand or reach for files).
"""

from __future__ import annotations

import ast
import json
import re
import xml.etree.ElementTree as ET
from typing import Any
from xml.parsers import expat

from statekeeper.core.errors import ChartError, LimitExceeded
from statekeeper.core.limits import DEFAULT_LIMITS, Limits

from ._dictform_common import ChartFormatError
from ._guard import json_depth

__all__ = ["ParsedXml", "inline_literal", "local_name", "namespace", "normalise_space", "parse_xml"]

_SPACE = re.compile(r"\s+")
_STATE_TAGS = frozenset({"state", "parallel", "final", "history"})


class ParsedXml:
    """A parsed document: its root element and the line number of every element."""

    __slots__ = ("lines", "root")

    def __init__(self, root: ET.Element, lines: dict[ET.Element, int]) -> None:
        self.root = root
        self.lines = lines


def parse_xml(source: str | bytes, limits: Limits = DEFAULT_LIMITS) -> ParsedXml:
    """Parse ``source`` (bytes keep their own encoding declaration; text is taken as is).

    Raises:
        ChartError: the text is not well-formed XML, declares an unknown encoding, holds a
            lone surrogate or declares an entity (the message names line and column).
        LimitExceeded: the elements nest deeper than ``max_depth``, or there are more
            states or transitions than allowed (named with the line of the first one over).

    """
    if isinstance(source, str):
        parser = expat.ParserCreate(encoding="utf-8", namespace_separator="}")
        text = source.lstrip("\ufeff")
        try:
            data: bytes = text.encode("utf-8")
        except UnicodeEncodeError as exc:
            line = text.count("\n", 0, exc.start) + 1
            raise ChartError(f"SCXML line {line} holds a lone surrogate "
                             f"({text[exc.start]!a}), which is not a Unicode character; "
                             "remove it") from None
    else:
        parser = expat.ParserCreate(namespace_separator="}")
        data = source
    builder = ET.TreeBuilder()
    lines: dict[ET.Element, int] = {}
    counts = {"depth": 0, "states": 0, "transitions": 0}

    def over(limit: str, detail: str) -> LimitExceeded:
        return LimitExceeded(limit, getattr(limits, limit),
                             f"SCXML line {parser.CurrentLineNumber}", detail)

    def start(name: str, attrs: dict[str, str]) -> None:
        counts["depth"] += 1
        if counts["depth"] > limits.max_depth:
            raise over("max_depth", f"elements nest more than {limits.max_depth} levels")
        tag = local_name(name)
        if tag in _STATE_TAGS:
            counts["states"] += 1
            if counts["states"] > limits.max_states:
                raise over("max_states", "the document has more states")
        elif tag == "transition":
            counts["transitions"] += 1
            if counts["transitions"] > limits.max_transitions:
                raise over("max_transitions", "the document has more transitions")
        element = builder.start(_clark(name), {_clark(k): v for k, v in attrs.items()})
        lines[element] = parser.CurrentLineNumber

    def end(name: str) -> None:
        counts["depth"] -= 1
        builder.end(_clark(name))

    def entity(name: str, *_: object) -> None:
        raise ChartError(f"SCXML line {parser.CurrentLineNumber}: the entity declaration "
                         f"{name!r} is not allowed (SCXML needs no entities); write the text "
                         "out")

    parser.buffer_text = True
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.EntityDeclHandler = entity
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise ChartError(f"not well-formed XML: {exc}") from None
    except (LookupError, ValueError) as exc:  # an encoding Python or expat cannot read
        raise ChartError(f"cannot read the XML declaration's encoding: {exc}; save the "
                         'document as UTF-8 and declare encoding="UTF-8"') from None
    return ParsedXml(builder.close(), lines)


def _clark(name: str) -> str:
    """Turn expat's ``uri}local`` into ElementTree's ``{uri}local``."""
    return "{" + name if "}" in name else name


def local_name(tag: str) -> str:
    """The tag or attribute name without its namespace."""
    return tag.rpartition("}")[2]


def namespace(tag: str) -> str:
    """The namespace URI of a tag or attribute name (``""`` when it has none)."""
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def normalise_space(text: str) -> str:
    """Collapse runs of whitespace and trim, as SCXML B.2 asks for text content."""
    return _SPACE.sub(" ", text).strip()


def inline_literal(text: str, limits: Limits = DEFAULT_LIMITS) -> Any:
    """The value of inline text content: JSON, else a Python literal, else XML, else a string.

    Nothing is evaluated: ``json`` and ``ast.literal_eval`` only read literals, so an untrusted
    document can carry data.  Text that is none of these is a whitespace-normalised string
    (SCXML B.2.2: "the Processor MUST treat the value as a space-normalized string").

    Raises:
        LimitExceeded: JSON or markup nested deeper than ``max_depth`` (checked before the
            parser recurses into it).
        ChartFormatError: a number with more digits than Python reads (it is no string).

    """
    stripped = text.strip()
    if not stripped:
        return None
    if stripped[0] in "[{":
        json_depth(stripped, limits, "inline JSON")
    try:
        return json.loads(stripped)
    except (ValueError, RecursionError) as exc:
        _refuse_wide_int(exc)
    try:
        return ast.literal_eval(stripped)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        _refuse_wide_int(exc)
    if stripped.startswith("<"):
        try:
            return parse_xml(stripped, limits).root
        except ChartError:
            pass
    return normalise_space(stripped)


def _refuse_wide_int(exc: BaseException) -> None:
    """Refuse a literal that failed only because one of its integers is too wide to read.

    Both ``json`` and ``ast`` refuse integers of more than 4,300 digits; without this check
    the text would fall through to a string, a value of another type than the one written.
    """
    if "integer string conversion" in str(exc):
        raise ChartFormatError("a number of more than 4,300 digits is too large for a chart "
                               "document; write a smaller number or a string") from None
