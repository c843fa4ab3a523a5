"""Read-only views of data: what guards, expressions and functions see while a step runs.

The step is pure only if the code it calls cannot write into what it reads.  A shallow
read-only proxy is not enough: a guard could append to a list inside the data, and the change
would be kept (and committed by the durable runtime) although the event was rejected.  Copying
the data for every call would make each guard cost as much as the data is large.

So a guard sees a :class:`DataView` of the data: a ``Mapping`` that wraps each container it
hands out in a view of its own (a :class:`ListView` for lists and tuples) when it is read.
Making a view is one small object; nothing is copied.  Views compare equal to the plain values
they show, and a value computed from views is taken back as plain data by :func:`thaw` (the
views in it are replaced by the values they show), so what an expression returns can be
assigned, sent or stored as before.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any, overload

__all__ = ["DataView", "ListView", "freeze", "thaw"]

_PLAIN = frozenset({str, int, float, bool, type(None), bytes})


class DataView(Mapping[str, Any]):
    """A read-only view of a dict whose nested containers are read-only views too.

    ``copy()`` returns a deep, writable copy (a plain dict) for code that wants to build on it.
    """

    __slots__ = ("_d",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._d = data

    def __getitem__(self, key: str) -> Any:
        value = self._d[key]
        kind = type(value)  # freeze() inlined for the common kinds: guards read per event
        if kind in _PLAIN:
            return value
        if kind is dict:
            return DataView(value)
        if kind is list:
            return ListView(value)
        return freeze(value)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return freeze(self._d[key])
        except KeyError:
            return default

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __contains__(self, key: object) -> bool:
        return key in self._d

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DataView):
            other = other._d
        return self._d == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._d)

    def __or__(self, other: Mapping[str, Any]) -> dict[str, Any]:
        merged = dict(self)
        merged.update(other)
        return merged

    def __ror__(self, other: Mapping[str, Any]) -> dict[str, Any]:
        merged = dict(other)
        merged.update(self)
        return merged

    def copy(self) -> dict[str, Any]:
        """A deep, writable copy of the data this view shows."""
        return copy.deepcopy(dict(self._d))


class ListView(Sequence[Any]):
    """A read-only view of a list or tuple whose nested containers are read-only views too."""

    __slots__ = ("_s",)

    def __init__(self, items: Sequence[Any]) -> None:
        self._s = items

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> ListView: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return ListView(self._s[index])
        value = self._s[index]
        if type(value) in _PLAIN:
            return value
        return freeze(value)

    def __len__(self) -> int:
        return len(self._s)

    def __iter__(self) -> Iterator[Any]:
        for item in self._s:
            yield freeze(item)

    def __contains__(self, item: object) -> bool:
        return item in self._s

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ListView):
            other = other._s
        return self._s == other

    def __lt__(self, other: Any) -> bool:
        return bool(self._s < _shown(other))

    def __le__(self, other: Any) -> bool:
        return bool(self._s <= _shown(other))

    def __gt__(self, other: Any) -> bool:
        return bool(self._s > _shown(other))

    def __ge__(self, other: Any) -> bool:
        return bool(self._s >= _shown(other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._s)

    def __add__(self, other: Sequence[Any]) -> list[Any]:
        return [*self, *other]

    def __radd__(self, other: Sequence[Any]) -> list[Any]:
        return [*other, *self]

    def __mul__(self, times: int) -> list[Any]:
        return list(self) * times

    __rmul__ = __mul__

    def copy(self) -> list[Any]:
        """A deep, writable copy (a plain list) of the items this view shows."""
        return copy.deepcopy(list(self._s))


def _shown(value: Any) -> Any:
    return value._s if isinstance(value, ListView) else value


def freeze(value: Any) -> Any:
    """``value`` as code under a step may see it: containers as read-only views, nothing copied.

    Scalars are returned as they are; a set becomes a frozenset and a bytearray bytes (copies:
    data should hold neither, JSON has no such type).
    """
    kind = type(value)
    if kind is dict:
        return DataView(value)
    if kind is list or kind is tuple:
        return ListView(value)
    if kind in _PLAIN or kind is DataView or kind is ListView:
        return value
    if isinstance(value, Mapping):
        return DataView(value)
    if isinstance(value, (list, tuple)):
        return ListView(value)
    if isinstance(value, (set, frozenset)):
        return frozenset(value)
    if isinstance(value, bytearray):
        return bytes(value)
    return value


def thaw(value: Any) -> Any:
    """Plain data again: every view in ``value`` replaced by the value it shows.

    Containers built by the caller are rebuilt only when a view is inside them; the values
    views show are shared, not copied (no step writes into data in place: assigns copy the
    dicts along their path).
    """
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is DataView:
        return value._d
    if kind is ListView:
        return value._s
    if kind is MappingProxyType:  # the view of flat data (EvalContext.data_view): scalars only
        return dict(value)
    if kind is dict:
        if all(type(v) in _PLAIN for v in value.values()):
            return value
        return {k: thaw(v) for k, v in value.items()}
    if kind is list:
        if all(type(v) in _PLAIN for v in value):
            return value
        return [thaw(v) for v in value]
    if kind is tuple:
        return tuple(thaw(v) for v in value)
    return value
