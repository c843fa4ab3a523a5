"""Translate the ECMAScript-isms of W3C SCXML documents into Python expressions.

About fifty W3C conformance documents were written for ECMAScript and converted to Python by
hand, except for a few operators: ``===``, ``!==``, ``&&``, ``||``, unary ``!`` and
``x instanceof Array``.  (``true``, ``false`` and ``null`` are names the Python datamodel
defines.)  The translation works on tokens, so operators inside string literals are never
touched, and it is a no-op on valid Python: ``!=`` stays ``!=``.

Only the shapes the documents use are understood; anything else is left as it is, and a
document that is still not Python raises ``error.execution`` when the expression runs, which is
what SCXML asks for (SEM-12 in docs/semantics.md).
"""

from __future__ import annotations

import re

__all__ = ["translate"]

# A string literal with an optional Python prefix; triple quotes first.
_STRING = re.compile(
    r"""(?i:[rbuf]{0,2})(?:'''(?:\\.|[^\\])*?'''|\"\"\"(?:\\.|[^\\])*?\"\"\"|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*")""",
    re.DOTALL,
)
_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[jJ]?")
_SPACE = re.compile(r"\s+")
_OPERATORS = ("===", "!==", "==", "!=", "&&", "||", "<=", ">=")
_OPEN, _CLOSE = "([{", ")]}"
#: ``x instanceof Array`` becomes ``isinstance(x, list)``.
_CONSTRUCTORS = {"Array": "list", "Object": "dict", "String": "str", "Number": "(int, float)",
                 "Boolean": "bool", "Function": "type(lambda: None)"}

Token = tuple[str, str]  # (kind, text); kinds: str name num op ws


def translate(expression: str) -> str:
    """Return ``expression`` with ECMAScript operators replaced by their Python equivalents."""
    if not any(mark in expression for mark in ("=", "&", "|", "!", "instanceof")):
        return expression
    tokens = _tokenize(expression)
    if tokens is None:
        return expression
    return "".join(text for _, text in _rewrite(tokens))


def _tokenize(text: str) -> list[Token] | None:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        for kind, pattern in (("str", _STRING), ("name", _NAME), ("num", _NUMBER), ("ws", _SPACE)):
            match = pattern.match(text, pos)
            if match is not None and match.end() > pos:
                tokens.append((kind, match.group()))
                pos = match.end()
                break
        else:
            if text[pos] in "'\"":
                return None  # an unterminated string: leave the expression alone
            op = next((o for o in _OPERATORS if text.startswith(o, pos)), text[pos])
            tokens.append(("op", op))
            pos += len(op)
    return tokens


def _rewrite(tokens: list[Token]) -> list[Token]:
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        if kind == "op" and text in ("===", "!=="):
            out.append(("op", text[:2]))
        elif kind == "op" and text in ("&&", "||"):
            word = "and" if text == "&&" else "or"
            before = "" if out and out[-1][0] == "ws" else " "
            after = "" if i + 1 < len(tokens) and tokens[i + 1][0] == "ws" else " "
            out.append(("op", f"{before}{word}{after}"))
        elif kind == "op" and text == "!":
            end = _primary_end(tokens, i + 1)
            if end is None:
                out.append(("op", " not "))
            else:
                inner = "".join(t for _, t in _rewrite(tokens[i + 1:end])).strip()
                out.append(("op", f"(not {inner})"))
                i = end
                continue
        elif kind == "name" and text == "instanceof" and _instanceof(out, tokens, i):
            i = _skip_ws(tokens, i + 1) + 1
            continue
        else:
            out.append((kind, text))
        i += 1
    return out


def _skip_ws(tokens: list[Token], i: int) -> int:
    while i < len(tokens) and tokens[i][0] == "ws":
        i += 1
    return i


def _primary_end(tokens: list[Token], i: int) -> int | None:
    """The index after the primary expression starting at ``i`` (``!`` binds tightly)."""
    i = _skip_ws(tokens, i)
    if i >= len(tokens):
        return None
    kind, text = tokens[i]
    if kind == "op" and text == "!":
        return _primary_end(tokens, i + 1)
    if kind in ("str", "num"):
        return i + 1
    if kind == "op" and text == "(":
        end = _group_end(tokens, i)
        if end is None:
            return None
        i = end
    elif kind == "name":
        i += 1
    else:
        return None
    return _trailers_end(tokens, i)


def _trailers_end(tokens: list[Token], i: int) -> int | None:
    """Skip ``.name``, ``(...)`` and ``[...]`` trailers after a primary."""
    while i < len(tokens):
        kind, text = tokens[i]
        if kind == "op" and text == "." and i + 1 < len(tokens) and tokens[i + 1][0] == "name":
            i += 2
        elif kind == "op" and text in "([":
            end = _group_end(tokens, i)
            if end is None:
                return None
            i = end
        else:
            break
    return i


def _group_end(tokens: list[Token], i: int) -> int | None:
    """The index after the bracket group opened at ``i``, or ``None`` if unbalanced."""
    depth = 0
    for j in range(i, len(tokens)):
        kind, text = tokens[j]
        if kind != "op":
            continue
        if text in _OPEN:
            depth += 1
        elif text in _CLOSE:
            depth -= 1
            if depth == 0:
                return j + 1
    return None


def _instanceof(out: list[Token], tokens: list[Token], i: int) -> bool:
    """Rewrite ``<primary> instanceof Name`` in place; ``False`` when the shape is unknown."""
    j = _skip_ws(tokens, i + 1)
    if j >= len(tokens) or tokens[j][0] != "name" or tokens[j][1] not in _CONSTRUCTORS:
        return False
    start = _primary_start(out)
    if start is None:
        return False
    left = "".join(t for _, t in out[start:]).strip()
    del out[start:]
    out.append(("op", f"isinstance({left}, {_CONSTRUCTORS[tokens[j][1]]})"))
    return True


def _primary_start(out: list[Token]) -> int | None:
    """Walk back over the primary expression that ends ``out`` (names, dots, brackets)."""
    i = len(out) - 1
    while i >= 0 and out[i][0] == "ws":
        i -= 1
    start = None
    while i >= 0:
        kind, text = out[i]
        if kind in ("name", "str", "num"):
            start = i
            i -= 1
            if i >= 0 and out[i] == ("op", "."):
                i -= 1
                continue
            break
        if kind == "op" and text in _CLOSE:
            depth = 0
            while i >= 0:
                if out[i][0] == "op" and out[i][1] in _CLOSE:
                    depth += 1
                elif out[i][0] == "op" and out[i][1] in _OPEN:
                    depth -= 1
                    if depth == 0:
                        break
                i -= 1
            if i < 0:
                return None
            start = i
            i -= 1
            continue
        break
    return start
