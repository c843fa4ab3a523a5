"""Parse XML into ElementTree elements while remembering each element's line number.

``xml.etree.ElementTree`` forgets where an element came from, but a chart error is only useful
when it names the line.  This module drives ``xml.parsers.expat`` directly (stdlib, the same
parser ElementTree uses) and records the line of every start tag.
"""

from __future__ import annotations

import ast
import json
import re
import xml.etree.ElementTree as ET
from typing import Any
from xml.parsers import expat

from statekeeper.core.errors import ChartError

__all__ = ["ParsedXml", "inline_literal", "local_name", "namespace", "normalise_space", "parse_xml"]

_SPACE = re.compile(r"\s+")


class ParsedXml:
    """A parsed document: its root element and the line number of every element."""

    __slots__ = ("lines", "root")

    def __init__(self, root: ET.Element, lines: dict[ET.Element, int]) -> None:
        self.root = root
        self.lines = lines


def parse_xml(source: str | bytes) -> ParsedXml:
    """Parse ``source`` (bytes keep their own encoding declaration; text is taken as is).

    Raises:
        ChartError: the text is not well-formed XML (the message names line and column).

    """
    if isinstance(source, str):
        parser = expat.ParserCreate(encoding="utf-8", namespace_separator="}")
        data: bytes = source.lstrip("\ufeff").encode("utf-8")
    else:
        parser = expat.ParserCreate(namespace_separator="}")
        data = source
    builder = ET.TreeBuilder()
    lines: dict[ET.Element, int] = {}

    def start(name: str, attrs: dict[str, str]) -> None:
        element = builder.start(_clark(name), {_clark(k): v for k, v in attrs.items()})
        lines[element] = parser.CurrentLineNumber

    parser.buffer_text = True
    parser.StartElementHandler = start
    parser.EndElementHandler = lambda name: builder.end(_clark(name))
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise ChartError(f"not well-formed XML: {exc}") from None
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


def inline_literal(text: str) -> Any:
    """The value of inline text content: JSON, else a Python literal, else XML, else a string.

    Nothing is evaluated: ``json`` and ``ast.literal_eval`` only read literals, so an untrusted
    document can carry data.  Text that is none of these is a whitespace-normalised string
    (SCXML B.2.2: "the Processor MUST treat the value as a space-normalized string").
    """
    stripped = text.strip()
    if not stripped:
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        pass
    try:
        return ast.literal_eval(stripped)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    if stripped.startswith("<"):
        try:
            return ET.fromstring(stripped)
        except ET.ParseError:
            pass
    return normalise_space(stripped)
