"""JSON text as every store's encoder and decoders use it: compact, exact, standard.

Kept apart from the row encoder (:mod:`statekeeper.storage._codec`) so the backend adapters
(:mod:`statekeeper.storage.adapters`) can use it without importing the encoder.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dumps", "dumps_exact", "loads"]


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not standard JSON (no statekeeper writes it)")


# NaN and the infinities are refused on read as on write: a row holding them was edited by
# hand or by another tool.  parse_constant runs only when one appears, so it costs nothing.
loads = json.JSONDecoder(parse_constant=_refuse_constant).decode
# allow_nan=False: NaN and the infinities are refused (a ValueError), never written as the
# non-standard ``NaN`` that other JSON readers reject.
_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False,
                            allow_nan=False)
# json.dumps builds a new C encoder on every call (~2 us here, more than encoding a short list);
# one C encoder without a circular-reference memo is reusable.  A cycle still fails, with a
# RecursionError instead of a ValueError.
try:
    _c_encoder: Any = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
        None, _encoder.default, json.encoder.encode_basestring, None, ":", ",", False, False,
        False)
    if "".join(_c_encoder({"a": [1, None]}, 0)) != '{"a":[1,null]}':  # pragma: no cover
        _c_encoder = None
except (AttributeError, TypeError):  # pragma: no cover - another Python: the plain encoder
    _c_encoder = None


def dumps(value: Any) -> str:
    """``value`` as compact JSON text (no spaces, non-ASCII kept); NaN and infinities refused."""
    if _c_encoder is None:  # pragma: no cover - CPython always has the C encoder
        return _encoder.encode(value)
    return "".join(_c_encoder(value, 0))


_LEAVES = frozenset({str, int, float, bool, type(None)})


def dumps_exact(value: Any) -> str:
    """``value`` as JSON that reads back as the same value, else ``TypeError``/``ValueError``.

    The encoder alone writes ``{1: 2}`` as ``{"1": 2}`` and a lone surrogate as text no UTF-8
    store can hold.  So after encoding (which refuses NaN, sets, objects and cycles) this
    checks that the text is valid Unicode and walks the containers for keys that are not
    strings.  It runs where a step's data changed (a snapshot row not encoded before, effect
    arguments, timer events), never for rows whose text is reused.
    """
    text = dumps(value)
    if not text.isascii():
        text.encode("utf-8")  # UnicodeEncodeError (a ValueError) on a lone surrogate
    leaves = _LEAVES
    if type(value) is dict:  # the usual data: string keys, plain values, nothing to walk
        for key, child in value.items():
            if type(key) is not str or (type(child) not in leaves and child):
                break  # a key to check, or a container to visit: the walk below
        else:
            return text
    stack = [value]
    pop, push = stack.pop, stack.append
    # An empty container needs no visit: a snapshot row holds several (history, timers and
    # invokes are usually {}), and each visit costs more than the test.
    while stack:
        item = pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if type(key) is not str and not isinstance(key, str):
                    raise TypeError(f"key {key!r} is not a string")
                if type(child) not in leaves and child:
                    push(child)
        elif isinstance(item, (list, tuple)):
            for child in item:
                if type(child) not in leaves and child:
                    push(child)
    return text
