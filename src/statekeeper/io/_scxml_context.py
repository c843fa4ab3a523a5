"""What the SCXML reader knows about each element, and the state it carries while reading.

Every SCXML element has a fixed set of attributes (SCXML 3-6).  The reader refuses any other
attribute in the SCXML namespace, so a typo (``evnet=``) is a :class:`ChartError` naming the
element and line instead of a transition that silently never fires.  Attributes in other
namespaces (``xsi:schemaLocation``, ``conf:*``) are extensions and are ignored.

``src`` references (``<data src>``, ``<script src>``) are read here, under the security model
of docs/security.md: an untrusted document reads nothing unless the caller names a folder it
may read from (``base_dir``) or a ``loader``; even then no absolute path, no ``..``, no link
out of the folder, no URL, and only regular files within ``max_document_bytes``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from statekeeper.core.errors import ChartError, LimitExceeded, StatekeeperError
from statekeeper.core.limits import DEFAULT_LIMITS, Limits

from ._dictform_common import At, ChartFormatError
from ._ecma import translate
from ._files import read_limited
from ._guard import check_tree, plain_json
from ._xml import inline_literal, local_name, namespace

#: Reads a ``src`` reference (the attribute's text) and returns its content.
Loader = Callable[[str], "str | bytes"]

__all__ = ["SCXML_NS", "STATEKEEPER_NS", "ReadContext"]

SCXML_NS = "http://www.w3.org/2005/07/scxml"
#: statekeeper's own attributes (``xmlns:sk="urn:statekeeper:scxml"``, ``sk:stuck-after``):
#: read and checked, unlike other namespaces' extensions
STATEKEEPER_NS = "urn:statekeeper:scxml"
#: statekeeper's attributes each element may carry
_OWN: dict[str, frozenset[str]] = {
    tag: frozenset({"stuck-after"}) for tag in ("state", "parallel", "final")}

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
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_NO_FILES = ("an untrusted document reads no files; pass base_dir= (a folder it may read "
             "from) or loader= to read_scxml/load_chart, or write the value inline")


def _no_child_reader(element: ET.Element) -> Any:
    raise AssertionError("inline <scxml> read without a document reader")


class ReadContext:
    """Settings and bookkeeping for reading one document (and its inline child documents).

    Attributes:
        trusted: Python expressions may be kept (they will be evaluated).
        python: the document uses the Python datamodel (``False`` for ``datamodel="null"``,
            whose expressions are names of bound callables and never evaluated).
        base_dir: where ``src`` references are read from (``None``: no files at all).
        loader: reads ``src`` references instead of the file system (the caller's).
        limits: bounds on the document and on each ``src`` it reads.
        used_expressions: an expression was kept, so the chart needs the Python datamodel.

    """

    def __init__(self, lines: dict[ET.Element, int], *, trusted: bool, python: bool,
                 base_dir: Path | None, loader: Loader | None = None,
                 limits: Limits = DEFAULT_LIMITS) -> None:
        self.lines = lines
        self.trusted = trusted
        self.python = python
        self.base_dir = base_dir
        self.loader = loader
        self.limits = limits
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
            if (uri := namespace(key)) == STATEKEEPER_NS:
                name = local_name(key)
                if name not in _OWN.get(tag, frozenset()):
                    allowed = ", ".join(sorted(_OWN.get(tag, ()))) or "none"
                    raise self.error(element, f"unknown statekeeper attribute {name!r} "
                                              f"(allowed here: {allowed})")
                continue  # read by own_attributes
            if uri:
                continue  # an extension attribute in another namespace
            if key in known:
                out[key] = value
            elif key not in _HARMLESS.get(tag, frozenset()):
                allowed = ", ".join(sorted(known)) or "none"
                raise self.error(element, f"unknown attribute {key!r} (allowed: {allowed})")
        return out

    def own_attributes(self, element: ET.Element) -> dict[str, str]:
        """The element's statekeeper attributes by local name (``attributes`` checked them)."""
        return {local_name(key): value for key, value in element.attrib.items()
                if namespace(key) == STATEKEEPER_NS}

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
        """Check that a ``<script>`` may be kept (scripts always need trust).

        Called with ``source=""`` before a ``src`` is read, so an untrusted document's
        script file is never opened.
        """
        if not self.python or not self.trusted:
            why = ("the document's datamodel cannot run scripts" if not self.python else
                   "a script is Python source that runs arbitrary code; read the document with "
                   "trusted=True only if you trust it")
            raise self.error(element, why)
        self.used_expressions = True
        return source

    def literal(self, element: ET.Element, text: str) -> Any:
        """The value of inline or ``src`` text (see :func:`inline_literal`), checked as data.

        Raises:
            ChartError: the value holds NaN, an infinite or a too-wide number, or a lone
                surrogate.
            LimitExceeded: the text nests deeper than ``max_depth``.

        """
        line = self.lines.get(element)
        where = f"SCXML <{local_name(element.tag)}>" + (f" at line {line}" if line else "")
        try:
            value = inline_literal(text, self.limits)
            check_tree(value, self.limits, At())
            if not isinstance(value, ET.Element):  # XML content stays markup (SCXML B.2)
                value = plain_json(value, At())
        except LimitExceeded as exc:
            raise LimitExceeded(exc.limit, exc.allowed, f"{where} ({exc.where})") from None
        except ChartFormatError as exc:
            named = f"id={element.get('id')!r}: " if element.get("id") is not None else ""
            raise self.error(element, f"{named}its value: {exc}") from None
        return value

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
        """Read a ``src`` reference through the loader, or from a file inside ``base_dir``.

        Raises:
            ChartError: no loader or folder was given (an untrusted document), the reference
                is a URL, an absolute path or leads out of the folder, the file is not a
                regular file, or the loader failed; the message names element, id and line.
            LimitExceeded: the content is larger than ``max_document_bytes``.

        """
        label = f"src={src!r}" if element.get("id") is None else \
            f"id={element.get('id')!r} src={src!r}"
        line = self.lines.get(element)
        what = f"SCXML <{local_name(element.tag)}> {label}" + (
            f" at line {line}" if line is not None else "")
        allowed = self.limits.max_document_bytes
        if self.loader is not None:
            data = self._load(element, src, label)
            if len(data) > allowed:
                raise LimitExceeded("max_document_bytes", allowed, what,
                                    f"the loader returned {len(data):,} bytes")
            return data
        if self.base_dir is None:
            raise self.error(element, f"{label}: {_NO_FILES}")
        return read_limited(self.resolve(element, src, label), allowed, what,
                            follow=self.trusted)

    def _load(self, element: ET.Element, src: str, label: str) -> bytes:
        assert self.loader is not None
        try:
            data = self.loader(src)
        except StatekeeperError:
            raise
        except Exception as exc:  # the caller's loader: say which src it failed on
            raise self.error(element, f"{label}: the loader failed: "
                             f"{type(exc).__name__}: {exc}") from exc
        if isinstance(data, str):
            try:
                return data.encode("utf-8")
            except UnicodeEncodeError:
                raise self.error(element, f"{label}: the loader returned text with a lone "
                                 "surrogate, which is not Unicode") from None
        if not isinstance(data, bytes):
            raise self.error(element, f"{label}: the loader must return str or bytes, not "
                             f"{type(data).__name__}")
        return data

    def resolve(self, element: ET.Element, src: str, label: str) -> Path:
        """The file a ``src`` reference names, relative to the base directory.

        Untrusted documents name files by relative paths inside ``base_dir`` only (a
        ``file:`` reference without ``//`` is a relative path too); a trusted document may
        also name absolute paths, as it may run any Python anyway.
        """
        assert self.base_dir is not None
        scheme = _SCHEME.match(src)
        if scheme is not None and scheme.group(1).lower() != "file" and len(scheme.group(1)) > 1:
            raise self.error(element, f"{label}: only files can be read, not a "
                             f"{scheme.group(1)}: URL; pass loader= to fetch it yourself")
        if src.lower().startswith("file:"):
            rest = src[len("file:"):]
            name = unquote(urlparse(src).path if rest.startswith("//") else rest)
        else:
            name = src
        if not name:
            raise self.error(element, f"{label}: names no file")
        path = Path(name)
        if self.trusted:
            return path if path.is_absolute() else self.base_dir / path
        if path.is_absolute() or name.startswith(("/", "\\")):
            raise self.error(element, f"{label}: an untrusted document cannot name an absolute "
                             "path; name a file inside base_dir by a relative path")
        if ".." in path.parts:
            raise self.error(element, f"{label}: an untrusted document cannot name '..'; name "
                             "a file inside base_dir")
        try:
            base = self.base_dir.resolve()
            full = (base / path).resolve()
        except (OSError, RuntimeError) as exc:  # a loop of symbolic links
            raise self.error(element, f"{label}: cannot be resolved: {exc}") from None
        if not full.is_relative_to(base):
            raise self.error(element, f"{label}: leads out of base_dir {str(base)!r} (through "
                             "a symbolic link); name a file inside it")
        return full
