"""Checks every reader runs on a document before the work: size, text, nesting, values.

A chart document may come from someone who wants to exhaust memory or CPU or crash the reader
with a raw Python exception.  These checks are cheap and iterative (no recursion, so no
``RecursionError`` at any depth) and run before anything that costs more than the document's
size: parsing, building objects, compiling.  Each failure is a :class:`ChartFormatError` or
a :class:`~statekeeper.core.errors.LimitExceeded` naming where it is.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from statekeeper.core.errors import LimitExceeded
from statekeeper.core.limits import Limits

from ._dictform_common import At, ChartFormatError

__all__ = ["check_size", "check_text", "check_tree", "decode", "json_depth", "line_of", "plain_json"]

_SURROGATE = re.compile("[\ud800-\udfff]")
# JSON strings (to skip) and brackets (to count), for the depth scan of JSON text.
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)
#: Integers wider than this many bits cannot be written as decimal text by Python (4,300
#: digits by default) and are no JSON number any other program reads back.
_MAX_INT_BITS = 1_024


def check_size(text: str | bytes, limits: Limits, where: str) -> None:
    """Refuse ``text`` longer than ``max_document_bytes`` (text counts in UTF-8 bytes)."""
    allowed = limits.max_document_bytes
    size = len(text)
    if isinstance(text, str) and size <= allowed < size * 4:
        size = len(text.encode("utf-8", "surrogatepass"))
    if size > allowed:
        raise LimitExceeded("max_document_bytes", allowed, where,
                            f"the document is {size:,} bytes or more")


def decode(data: bytes, what: str) -> str:
    """Decode UTF-8 bytes (with or without a byte order mark) naming the bad byte's place."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, column = line_of(data, exc.start)
        raise ChartFormatError(
            f"{what} is not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line} column "
            f"{column} cannot be decoded; save the file as UTF-8") from None


def check_text(text: str, what: str) -> None:
    """Refuse text holding a lone surrogate (it is not Unicode; no file can hold it)."""
    found = _SURROGATE.search(text)
    if found is not None:
        line, column = line_of(text, found.start())
        raise ChartFormatError(
            f"{what}: line {line} column {column} holds a lone surrogate "
            f"({found.group()!a}), which is not a Unicode character; remove it")


def line_of(text: str | bytes, index: int) -> tuple[int, int]:
    """The 1-based line and column of ``index`` in ``text``."""
    newline = "\n" if isinstance(text, str) else b"\n"
    line = text.count(newline, 0, index) + 1  # type: ignore[arg-type]
    start = text.rfind(newline, 0, index) + 1  # type: ignore[arg-type]
    return line, index - start + 1


def json_depth(text: str, limits: Limits, what: str = "JSON") -> None:
    """Refuse JSON text nested deeper than ``max_depth`` before the parser recurses into it."""
    depth = 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limits.max_depth:
                line, column = line_of(text, match.start())
                raise LimitExceeded("max_depth", limits.max_depth,
                                    f"{what} line {line} column {column}",
                                    f"the document nests more than {limits.max_depth} levels")
        elif token in "]}":
            depth -= 1


def check_tree(doc: Any, limits: Limits, at: At) -> None:
    """Walk a document's mappings and lists (iteratively) and check every value in it.

    Refused: nesting deeper than ``max_depth`` (a mapping that holds itself too), lone
    surrogates in strings or keys, NaN and infinite floats, and integers too wide for JSON
    text.  The error names the path into the document.
    """
    todo: list[tuple[Any, At, int]] = [(doc, at, 1)]
    while todo:
        value, where, depth = todo.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise where.error(f"{ascii(value)[:60]} holds a lone surrogate, which is not "
                                  "a Unicode character; remove it")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise where.error(f"{value!r} is not a number JSON can hold; write a finite "
                                  "number")
        elif isinstance(value, int) and not isinstance(value, bool):
            if value.bit_length() > _MAX_INT_BITS:
                raise where.error(f"a number of {value.bit_length():,} bits is too large for "
                                  "a chart document; write a smaller number or a string")
        elif isinstance(value, (Mapping, list, tuple)):
            if depth > limits.max_depth:
                raise LimitExceeded("max_depth", limits.max_depth,
                                    f"chart document at {where.path or 'the top'}",
                                    f"it nests more than {limits.max_depth} levels")
            if isinstance(value, Mapping):
                for key, item in value.items():
                    if isinstance(key, str) and _SURROGATE.search(key):
                        raise where.error(f"the key {ascii(key)[:60]} holds a lone surrogate, "
                                          "which is not a Unicode character; remove it")
                    child = where.at(key) if isinstance(key, str) else where
                    todo.append((item, child, depth + 1))
            else:
                todo.extend((item, where.at(i), depth + 1) for i, item in enumerate(value))


def plain_json(value: Any, at: At) -> Any:
    """A copy of ``value`` made of dicts, lists and JSON scalars only; tuples become lists.

    For values read by ``ast.literal_eval`` (SCXML inline and ``src`` data), which reads more
    than JSON holds: a set, bytes, a complex number or ``...`` would fail only when an
    instance is stored, and ``{1: 2}`` would be stored as ``{"1": 2}``, not the value the
    document wrote.  Run after :func:`check_tree` (which bounds the depth); iterative.

    Raises:
        ChartFormatError: a value or a key JSON cannot hold, naming its path.

    """
    root: list[Any] = [None]
    todo: list[tuple[Any, At, Any, Any]] = [(value, at, root, 0)]
    while todo:
        item, where, parent, slot = todo.pop()
        if item is None or isinstance(item, (str, int, float)):
            parent[slot] = item
        elif isinstance(item, dict):
            out: dict[str, Any] = {}
            parent[slot] = out
            for key, child in item.items():
                if not isinstance(key, str):
                    raise where.error(f"the key {ascii(key)[:40]} (of type "
                                      f"{type(key).__name__}) is not a string: JSON keys "
                                      f"are strings; write {str(key)!r}")
                out[key] = None  # keeps the document's key order
                todo.append((child, where.at(key), out, key))
        elif isinstance(item, (list, tuple)):
            copy: list[Any] = [None] * len(item)
            parent[slot] = copy
            todo.extend((child, where.at(i), copy, i) for i, child in enumerate(item))
        else:
            kind = type(item).__name__
            hint = {"set": "a list", "frozenset": "a list", "bytes": "a string",
                    "complex": "two numbers"}.get(kind, "a string, a number or a list")
            raise where.error(f"{ascii(item)[:40]} (of type {kind}) is not a value JSON "
                              f"can hold; write {hint} instead")
    return root[0]
