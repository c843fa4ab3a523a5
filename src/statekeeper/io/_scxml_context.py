"""What the SCXML reader knows about each element, and the state it carries while reading.

Every SCXML element has a fixed set of attributes (SCXML 3-6).  The reader refuses any other
attribute in the SCXML namespace, so a typo (``evnet=``) is a :class:`ChartError` naming the
element and line instead of a transition that silently never fires.  Attributes in other
namespaces (``xsi:schemaLocation``, ``conf:*``) are extensions and are ignored.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from statekeeper.core.errors import ChartError

from ._ecma import translate
from ._xml import local_name, namespace

__all__ = ["SCXML_NS", "ReadContext"]

SCXML_NS = "http://www.w3.org/2005/07/scxml"

# Per element: its plain attributes, its expression attributes (evaluated by the datamodel)
# and its location attributes (data paths, safe to read without trust).
_PLAIN: dict[str, frozenset[str]] = {
    "scxml": frozenset({"initial", "name", "datamodel", "binding", "version", "exmode"}),
    "state": frozenset({"id", "initial"}),
    "parallel": frozenset({"id"}),
    "final": frozenset({"id"}),
    "history": frozenset({"id", "type"}),
    "transition": frozenset({"event", "target", "type"}),
    "data": frozenset({"id", "src"}),
    "param": frozenset({"name"}),
    "raise": frozenset({"event"}),
    "log": frozenset({"label"}),
    "send": frozenset({"event", "target", "type", "id", "delay"}),
    "cancel": frozenset({"sendid"}),
    "script": frozenset({"src"}),
    "invoke": frozenset({"type", "src", "id", "autoforward"}),
}
_EXPRESSIONS: dict[str, frozenset[str]] = {
    "transition": frozenset({"cond"}),
    "data": frozenset({"expr"}),
    "param": frozenset({"expr"}),
    "content": frozenset({"expr"}),
    "log": frozenset({"expr"}),
    "assign": frozenset({"expr"}),
    "if": frozenset({"cond"}),
    "elseif": frozenset({"cond"}),
    "foreach": frozenset({"array"}),
    "send": frozenset({"eventexpr", "targetexpr", "typeexpr", "delayexpr"}),
    "cancel": frozenset({"sendidexpr"}),
    "invoke": frozenset({"typeexpr", "srcexpr"}),
}
_LOCATIONS: dict[str, frozenset[str]] = {
    "param": frozenset({"location"}),
    "assign": frozenset({"location"}),
    "foreach": frozenset({"item", "index"}),
    "send": frozenset({"idlocation", "namelist"}),
    "invoke": frozenset({"idlocation", "namelist"}),
}
#: Attributes known to be harmless although not SCXML: ``intial`` is a misspelling of
#: ``initial`` in the W3C conformance suite (test387); a processor that does not validate
#: against the schema ignores it, and the test expects exactly that.
_HARMLESS: dict[str, frozenset[str]] = {"state": frozenset({"intial"})}
_IN_CALL = re.compile(r"""^\s*!?\s*In\(\s*(['"])[^'"]*\1\s*\)\s*$""")


def _no_child_reader(element: ET.Element) -> Any:
    raise AssertionError("inline <scxml> read without a document reader")


class ReadContext:
    """Settings and bookkeeping for reading one document (and its inline child documents).

    Attributes:
        trusted: Python expressions may be kept (they will be evaluated).
        python: the document uses the Python datamodel (``False`` for ``datamodel="null"``,
            whose expressions are names of bound callables and never evaluated).
        base_dir: where ``src="file:..."`` references are resolved.
        used_expressions: an expression was kept, so the chart needs the Python datamodel.

    """

    def __init__(self, lines: dict[ET.Element, int], *, trusted: bool, python: bool,
                 base_dir: Path) -> None:
        self.lines = lines
        self.trusted = trusted
        self.python = python
        self.base_dir = base_dir
        self.used_expressions = False
        self.ids: set[str] = set()
        self._generated = 0
        #: Reads an inline ``<scxml>`` element as a chart; set by the document reader.
        self.read_child: Callable[[ET.Element], Any] = _no_child_reader

    # ------------------------------------------------------------------ errors

    def error(self, element: ET.Element, reason: str) -> ChartError:
        """A :class:`ChartError` that names the element and its line."""
        line = self.lines.get(element)
        where = f" at line {line}" if line is not None else ""
        return ChartError(f"SCXML <{local_name(element.tag)}>{where}: {reason}")

    # ------------------------------------------------------------------ attributes

    def attributes(self, element: ET.Element) -> dict[str, str]:
        """The element's SCXML attributes by name; unknown ones raise :class:`ChartError`."""
        tag = local_name(element.tag)
        known = (_PLAIN.get(tag, frozenset()) | _EXPRESSIONS.get(tag, frozenset())
                 | _LOCATIONS.get(tag, frozenset()))
        out: dict[str, str] = {}
        for key, value in element.attrib.items():
            if namespace(key):
                continue  # an extension attribute in another namespace
            if key in known:
                out[key] = value
            elif key not in _HARMLESS.get(tag, frozenset()):
                allowed = ", ".join(sorted(known)) or "none"
                raise self.error(element, f"unknown attribute {key!r} (allowed: {allowed})")
        return out

    def expression(self, element: ET.Element, attribute: str, text: str | None) -> str | None:
        """Check that ``text`` may be kept as an expression and translate ECMAScript-isms.

        Raises:
            ChartError: the document is untrusted and the text is Python source.

        """
        if text is None or not self.python:
            return text
        if attribute == "cond" and _IN_CALL.match(text):
            return text  # In('id') is understood without evaluating anything
        if not self.trusted:
            raise self.error(
                element,
                f"{attribute}={text!r} is a Python expression, and evaluating it runs arbitrary "
                "code; read the document with trusted=True only if you trust it",
            )
        self.used_expressions = True
        return translate(text)

    def script(self, element: ET.Element, source: str) -> str:
        """Check that a ``<script>`` may be kept (scripts always need trust)."""
        if not self.python or not self.trusted:
            why = ("the document's datamodel cannot run scripts" if not self.python else
                   "a script is Python source that runs arbitrary code; read the document with "
                   "trusted=True only if you trust it")
            raise self.error(element, why)
        self.used_expressions = True
        return source

    # ------------------------------------------------------------------ ids and files

    def state_id(self, element: ET.Element) -> str:
        """The element's ``id``, or a generated one (SCXML 3.3: ids are optional)."""
        given = element.get("id")
        if given is not None:
            return given
        while True:
            self._generated += 1
            candidate = f"_{local_name(element.tag)}{self._generated}"
            if candidate not in self.ids:
                self.ids.add(candidate)
                return candidate

    def read_file(self, element: ET.Element, src: str) -> bytes:
        """Read a ``src`` reference (``file:name``, ``file:///abs`` or a relative path)."""
        path = self.resolve(element, src)
        try:
            return path.read_bytes()
        except OSError as exc:
            raise self.error(element, f"cannot read src={src!r}: {exc.strerror}") from None

    def resolve(self, element: ET.Element, src: str) -> Path:
        """The file a ``src`` URI names, relative to the base directory."""
        if src.startswith("file:"):
            rest = src[len("file:"):]
            path = Path(unquote(urlparse(src).path if rest.startswith("//") else rest))
        elif "://" in src:
            raise self.error(element, f"only file: sources can be read, not {src!r}")
        else:
            path = Path(src)
        return path if path.is_absolute() else self.base_dir / path
