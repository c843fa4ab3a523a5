"""What a payload may hold: exactly what JSON can carry, within the limits.

Event payloads and instance data are stored, compared and sent on as JSON.  Python values JSON
cannot hold exactly used to be changed on the way (``{1: 2}`` came back as ``{"1": 2}``), stored
as non-standard JSON (``NaN``), or refused deep inside the store with a raw ``TypeError``.
:func:`check_payload` refuses them where they enter (every machine and client ``start`` and
``send``), before anything runs or is stored, naming the path to the value.

It is one walk over the value, without copying or encoding it; ``None`` costs nothing.
"""

from __future__ import annotations

import math
import sys
from types import MappingProxyType
from typing import Any

from .errors import InvalidPayload, LimitExceeded
from .limits import DEFAULT_LIMITS, Limits

__all__ = ["check_payload", "checked_copy", "copy_payload", "flat_copy", "is_flat"]

_SCALAR_SIZE = {type(None): 4, bool: 5, float: 24}
# an int longer than this many bits may have more decimal digits than Python will write
_BIG_INT_BITS = 3 * 4300


def check_payload(value: Any, *, limits: Limits = DEFAULT_LIMITS, what: str = "payload") -> None:
    """Refuse ``value`` unless JSON holds it exactly and it is within ``limits``.

    Allowed: dicts with string keys, lists, tuples (sent on as lists), strings of valid
    Unicode, ints Python can write in decimal, finite floats, booleans and ``None``; at most
    ``limits.max_depth`` containers deep and about ``limits.max_payload_bytes`` bytes as
    compact JSON (escapes not counted).

    Raises:
        InvalidPayload: a value JSON cannot hold exactly; ``path`` says where (``$.items[2]``).
        LimitExceeded: nested deeper than ``max_depth`` or larger than ``max_payload_bytes``.

    """
    if value is None:
        return
    max_depth, max_bytes = limits.max_depth, limits.max_payload_bytes
    size = 0
    # (container, depth, path): a path is a chain (parent path, key) built only for containers
    stack: list[tuple[Any, int, Any]] = [(value, 0, None)]
    while stack:
        item, depth, path = stack.pop()
        kind = type(item)
        keyed = kind is dict or (kind is not str and isinstance(item, dict))
        if keyed:
            children: Any = item.items()
            size += 2
        elif kind is list or kind is tuple or isinstance(item, (list, tuple)):
            children = enumerate(item)
            size += 2
        else:  # only the root can be a scalar here: children are checked in the loop below
            size += _scalar(item, path, what)
            children = ()
            depth = -1
        if depth >= max_depth:
            raise LimitExceeded("max_depth", max_depth, f"{what} at {_show(path)}", "nested deeper")
        for key, child in children:
            if keyed:
                if type(key) is not str and not isinstance(key, str):
                    raise InvalidPayload(_show(path), _bad_key(key))
                size += _string(key, (path, key), what) + 1
            child_kind = type(child)
            if (
                child_kind is dict
                or child_kind is list
                or child_kind is tuple
                or isinstance(child, (dict, list, tuple))
            ):
                stack.append((child, depth + 1, (path, key)))
            else:
                size += _scalar(child, (path, key), what) + 1
        if size > max_bytes:
            raise LimitExceeded(
                "max_payload_bytes",
                max_bytes,
                f"{what} at {_show(path)}",
                f"about {size:,} bytes as JSON so far",
            )


# a flat dict of at most this many short ASCII keys and small scalars cannot exceed any limit
# of at least _QUICK_BYTES: it is copied in one pass without the general walk
_QUICK_KEYS, _QUICK_TEXT, _QUICK_BYTES = 16, 64, 4096
_QUICK_INT, _QUICK_NEGATIVE = 2**63, -(2**63)


def checked_copy(value: Any, *, limits: Limits = DEFAULT_LIMITS, what: str = "payload",
                 read_only: bool = False) -> Any:
    """:func:`check_payload` then :func:`copy_payload`: what every sent payload goes through.

    The common payload, a small flat dict (see :func:`flat_copy`), is checked and copied in
    one pass; anything else takes the general walk.  With ``read_only``, such a flat copy is
    returned as a ``types.MappingProxyType`` of it: read-only all the way down, so a step
    shows it to guards and functions as it is, without a view per step.
    """
    if value.__class__ is dict:
        out = flat_copy(value, limits)
        if out is not None:
            return MappingProxyType(out) if read_only else out
    check_payload(value, limits=limits, what=what)
    if isinstance(value, dict | list | tuple):
        return copy_payload(value)
    return value


def flat_copy(value: dict[str, Any], limits: Limits) -> dict[str, Any] | None:
    """A copy of ``value`` when it is the common payload, else ``None`` (nothing refused).

    The common payload is a dict of at most 16 short ASCII string keys whose values are short
    ASCII strings, ints below 2**63, booleans and ``None``: it can be neither invalid nor
    larger than limits of at least 4 KB, so one pass over the copy checks it (what is checked
    is what is kept, whatever the caller does with its dict later).  ``None`` says only that
    this pass cannot tell: :func:`check_payload` then decides, naming what it refuses.
    The machines' sends call it first, before the general walk (:func:`checked_copy`).
    """
    if len(value) > _QUICK_KEYS or limits.max_payload_bytes < _QUICK_BYTES:
        return None  # (every Limits allows a depth of 1: a flat dict is never too deep)
    out = dict(value)  # checked once copied
    return out if is_flat(out, limits) else None


def is_flat(value: dict[str, Any], limits: Limits) -> bool:
    """Whether ``value`` (a ``dict``) is the common payload of :func:`flat_copy`: valid as is.

    ``True`` means :func:`check_payload` would pass it, at a fraction of the cost (a send's
    payload, an effect's result); ``False`` only that this pass cannot tell.
    """
    if len(value) > _QUICK_KEYS or limits.max_payload_bytes < _QUICK_BYTES:
        return False
    for key in value:  # (by key: a third cheaper than over items() for the usual one or two)
        if key.__class__ is not str or len(key) > _QUICK_TEXT or not key.isascii():
            return False
        child = value[key]
        kind = child.__class__
        if kind is int:
            if child >= _QUICK_INT or child <= _QUICK_NEGATIVE:
                return False
        elif kind is str:
            if len(child) > _QUICK_TEXT or not child.isascii():
                return False
        elif kind is not bool and child is not None:
            return False
    return True


def copy_payload(value: Any) -> Any:
    """A copy of a checked payload's containers, so the machine never shares them with the caller.

    An in-memory machine keeps what an assign takes from ``_event.data``; without a copy the
    sender's later change to its own dict changed the machine's data behind its steps (the
    durable runtime copies by encoding).  Scalars are immutable and kept; tuples stay tuples.
    Call it after :func:`check_payload`, which bounds the depth.
    """
    kind = type(value)
    if kind is dict or (kind is not str and isinstance(value, dict)):
        return {key: copy_payload(child) for key, child in value.items()}
    if kind is list or isinstance(value, list):
        return [copy_payload(child) for child in value]
    if kind is tuple or isinstance(value, tuple):
        return tuple(copy_payload(child) for child in value)
    return value


def _scalar(value: Any, path: Any, what: str) -> int:
    kind = type(value)
    if kind is str:
        return _string(value, path, what)
    if kind is int:
        return _int(value, path, what)
    fixed = _SCALAR_SIZE.get(kind)
    if fixed is not None:
        if kind is float and not math.isfinite(value):
            raise InvalidPayload(
                _show(path),
                f"{value!r} is not a number JSON can hold (it "
                f"would be stored as non-standard JSON); send null or a string",
            )
        return fixed
    if isinstance(value, bool):
        return 5
    if isinstance(value, str):
        return _string(value, path, what)
    if isinstance(value, int):
        return _int(value, path, what)
    if isinstance(value, float):
        return _scalar(float(value), path, what)
    raise InvalidPayload(
        _show(path),
        f"a value of type {type(value).__name__} is not one JSON can hold "
        f"({_hint(value)}); {what} holds dicts with string keys, lists, "
        f"strings, numbers, booleans and None",
    )


def _string(text: str, path: Any, what: str) -> int:
    if text.isascii():
        return len(text) + 2
    try:
        return len(text.encode("utf-8")) + 2
    except UnicodeEncodeError as exc:
        bad = text[exc.start]
        raise InvalidPayload(
            _show(path),
            f"a string holds the lone surrogate {bad!r} at "
            f"index {exc.start}, which is not valid Unicode; decode your "
            f"input with errors='replace' or send the bytes as base64",
        ) from None


def _int(number: int, path: Any, what: str) -> int:
    bits = number.bit_length()
    if bits > _BIG_INT_BITS:
        try:
            return len(str(number))
        except ValueError:
            limit = sys.get_int_max_str_digits()
            raise InvalidPayload(
                _show(path),
                f"an int of more than {limit:,} decimal digits "
                f"cannot be written as JSON; send it as a string",
            ) from None
    return bits * 3 // 10 + 2


def _bad_key(key: Any) -> str:
    return (
        f"the key {key!r} (of type {type(key).__name__}) is not a string: JSON keys are "
        f"strings, so it would come back as {str(key)!r} or not at all; write {str(key)!r}"
    )


def _hint(value: Any) -> str:
    if isinstance(value, (set, frozenset)):
        return "send a list"
    if isinstance(value, (bytes, bytearray)):
        return "send a string, base64 for binary data"
    return "send its JSON form: a string, a number or a dict"


def _show(path: Any) -> str:
    """``$.items[2].price`` from a chain ``((((None, 'items'), 2), 'price')``."""
    keys: list[Any] = []
    while path is not None:
        path, key = path
        keys.append(key)
    keys.reverse()
    if len(keys) > 16:  # a path as deep as the depth limit says no more in full
        keys = [*keys[:8], f"... {len(keys) - 12} more ...", *keys[-4:]]
    out = ["$"]
    for key in keys:
        if type(key) is int:
            out.append(f"[{key}]")
        elif isinstance(key, str) and (key.isidentifier() or key.startswith("... ")):
            out.append(f".{key}" if key.isidentifier() else key)
        else:
            out.append(f"[{key!r}]")
    return "".join(out)
