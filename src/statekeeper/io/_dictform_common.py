"""Shared pieces of the dict form: its error type, key paths, literal values and durations.

A chart document is written by people, so every error names *where* it is: the path of keys
from the top of the document (``states.Placed.on.submit``) and the state it belongs to.  The
reader and the writer both go through :class:`At`, which carries that path.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from statekeeper.core.errors import ChartError
from statekeeper.core.validate import did_you_mean

__all__ = [
    "NAME_DATAMODELS",
    "At",
    "ChartFormatError",
    "duration_text",
    "ids_value",
    "json_value",
    "mapping",
    "no_code",
    "read_ids",
    "type_name",
]

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


class ChartFormatError(ChartError):
    """A chart document (a dict, JSON or YAML) has a bad key or value.

    The message starts with the path of the bad key, so it can be found in a long document:
    ``states.Placed.on.submit: unknown key 'tagret' (did you mean 'target'?)``.

    Attributes:
        path: the path of keys from the document's top (``""`` for the top itself).
        state: the id of the innermost state the path is in (``None`` outside any state).
        reason: what is wrong, in words.

    """

    def __init__(self, reason: str, path: str = "", state: str | None = None) -> None:
        super().__init__(reason, state)
        self.path = path
        self.args = (f"{path}: {reason}" if path else reason,)


@dataclass(frozen=True, slots=True)
class At:
    """A position in a chart document: the key path and the state it is in."""

    path: str = ""
    state: str | None = None

    def at(self, key: str | int) -> At:
        """The position of ``key`` (a mapping key or a list index) below this one."""
        return At(_join(self.path, key), self.state)

    def in_state(self, state_id: str) -> At:
        """The position of state ``state_id`` in this ``states`` mapping."""
        return At(_join(self.path, state_id), state_id)

    def error(self, reason: str) -> ChartFormatError:
        """A :class:`ChartFormatError` at this position."""
        return ChartFormatError(reason, self.path, self.state)


#: The datamodels whose expressions are names of bound functions (never evaluated).
NAME_DATAMODELS = ("functions", "null")


def no_code(at: At, what: str) -> ChartFormatError:
    """The error for code in a dict, JSON or YAML chart (a Python datamodel or a script).

    These forms hold names, never code, whatever ``trusted`` says: a document that can be
    read without trust must not be able to run Python once someone compiles it trusted.
    """
    return at.error(
        f"{what}: dict, JSON and YAML charts hold names, never code; bind a function when "
        "compiling and name it (cond: is_ok, {call: name}), or keep the chart in SCXML and "
        "read it with trusted=True")


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _PLAIN_KEY.fullmatch(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def type_name(value: Any) -> str:
    """The document-level name of ``value``'s type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return f"a {type(value).__name__}"


def mapping(value: Any, at: At, allowed: Collection[str] | None, what: str) -> dict[str, Any]:
    """Check that ``value`` is a mapping with string keys, all of them in ``allowed``.

    Args:
        value: the value read from the document.
        at: where it is.
        allowed: the known keys, or ``None`` when any string key is fine (``on``, ``after``).
        what: what the mapping is, for the error message ("a state", "a transition").

    Raises:
        ChartFormatError: not a mapping, a non-string key, or an unknown key (with the
            closest known key as a suggestion).

    """
    if not isinstance(value, Mapping):
        raise at.error(f"expected {what} (a mapping), got {type_name(value)}")
    for key in value:
        if not isinstance(key, str):
            raise at.error(f"keys must be strings, got {type_name(key)} {key!r}")
        if allowed is not None and key not in allowed:
            raise at.error(f"unknown key {key!r}{did_you_mean(key, allowed)}")
    return dict(value)


def read_ids(value: Any, at: At) -> tuple[str, ...]:
    """Read state ids: ``"A"``, ``"A B"`` (split on spaces, as the builder does) or a list."""
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise at.error(f"expected a state id or a list of state ids, got {type_name(value)}")


def ids_value(ids: tuple[str, ...]) -> str | list[str]:
    """Write state ids: a single plain id as a string, anything else as a list."""
    if len(ids) == 1 and ids[0] and ids[0].split() == [ids[0]]:
        return ids[0]
    return list(ids)


def json_value(value: Any, at: At) -> Any:
    """Check that a literal is plain JSON data and return a copy made of dicts and lists.

    Both directions use it: the document may only hold what JSON and YAML hold alike, so a
    chart written as YAML reads back the same as JSON.  Tuples become lists.

    Raises:
        ChartFormatError: the value holds something else (a set, a date, NaN, a non-string key).

    """
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise at.error(f"{value!r} cannot be written as JSON or YAML data")
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise at.error(f"data keys must be strings, got {type_name(key)} {key!r}")
            out[key] = json_value(item, at.at(key))
        return out
    if isinstance(value, (list, tuple)):
        return [json_value(item, at.at(i)) for i, item in enumerate(value)]
    raise at.error(f"{type_name(value)} cannot be written as JSON or YAML data")


def duration_text(value: Any) -> Any:
    """Write a duration: text and numbers as they are, a ``timedelta`` as ``"1h30m"`` text."""
    if not isinstance(value, timedelta):
        return value
    micros = (value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds
    if micros < 0:
        return str(value)  # negative: invalid anyway, and compile_chart says so
    whole, micros = divmod(micros, 1_000_000)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, whole = divmod(whole, size)
        if count:
            parts.append(f"{count}{unit}")
    if micros:
        parts.append(f"{micros // 1000}ms" if micros % 1000 == 0 else f"{micros / 1000}ms")
    return "".join(parts) or "0s"
