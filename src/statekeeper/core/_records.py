"""Fast positional constructors for slotted dataclasses on hot paths.

Why: a frozen dataclass's ``__init__`` sets every field with ``object.__setattr__(self, name,
value)``, which looks each slot up by name.  On the durable runtime's path a transition builds
half a dozen such records (snapshot, step result, instance row, transition row, commit, answer),
and in the engine's single writer thread those stores were a quarter of its time.

So a constructor made here fills an instance of a plain twin class (the same ``__slots__`` in
the same order, no frozen ``__setattr__``), where each store is an ordinary, specialised
attribute store, and then gives the instance its real class (``__class__`` assignment, which
CPython allows between classes of the same layout; written as the twin's own attribute store,
cheaper than calling ``object.__setattr__`` for it).  About three times faster than the
dataclass's ``__init__``.  Where a class's layout cannot be twinned (it inherits slots from a
slotted base), the slots' own descriptors are used instead, still about twice as fast.  Either
way the result is an ordinary instance of the class: equal, hashable and frozen exactly like
one made by its ``__init__``.

A slotted dataclass that is not frozen gets a constructor that stores each field directly:
no ``__init__`` frame, defaults or class call in between (a third cheaper than calling the
class, measured with valgrind on the engine's per-commit records).

A constructor made here takes every field, in declaration order or by name: no defaults.  It
is typed as the class itself (a ``ParamSpec``), so strict mypy checks each call's arguments,
their number and types, against the dataclass's fields; what it cannot see is a field left
out that has a default, which fails at the first call instead.  It is for the few hot paths
that have every value at hand (each says why where it makes one); everything else builds
records by keyword with the class itself.
"""

from __future__ import annotations

import dataclasses
import keyword
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast

__all__ = ["positional_constructor"]

T = TypeVar("T")
P = ParamSpec("P")


def positional_constructor(record: Callable[P, T]) -> Callable[P, T]:
    """Return ``make(*every_field_in_order) -> cls`` that skips ``object.__setattr__``.

    Raises:
        TypeError: ``cls`` is not a slotted dataclass whose fields are all ``__init__``
            arguments, or it has a ``__post_init__`` (which this would skip).

    """
    cls = cast(type, record)
    if not isinstance(cls, type) or not dataclasses.is_dataclass(cls) \
            or "__slots__" not in cls.__dict__:
        raise TypeError(f"{getattr(cls, '__name__', cls)!r} is not a slotted dataclass")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__, which a fast constructor would skip")
    fields = dataclasses.fields(cls)
    if any(not f.init for f in fields):
        raise TypeError(f"{cls.__name__} has fields that are not __init__ arguments")
    names = [f.name for f in fields]
    if any(not n.isidentifier() or keyword.iskeyword(n) for n in names):  # pragma: no cover
        raise TypeError(f"{cls.__name__} has a field name that cannot be an argument")
    scope: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    frozen = cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    twin = _layout_twin(cls) if frozen else None
    if not frozen:  # its own stores are ordinary ones already: no twin, no class change
        lines = [f"def make({', '.join(names)}):", "    self = _new(_cls)"]
        lines += [f"    self.{name} = {name}" for name in names]
    elif twin is not None:
        scope["_twin"] = twin
        # the twin called (it has no __init__) and its class set by its own, ordinary attribute
        # store: 1,100 instructions fewer than object.__new__ and object.__setattr__ (callgrind)
        lines = [f"def make({', '.join(names)}):", "    self = _twin()"]
        lines += [f"    self.{name} = {name}" for name in names]
        lines.append("    self.__class__ = _cls")
    else:
        lines = [f"def make({', '.join(names)}):", "    self = _new(_cls)"]
        for index, name in enumerate(names):
            scope[f"_set{index}"] = getattr(cls, name).__set__
            lines.append(f"    _set{index}(self, {name})")
    lines.append("    return self")
    exec("\n".join(lines), scope)  # noqa: S102 - the names are the dataclass's own fields
    make: Callable[P, T] = scope["make"]
    make.__qualname__ = make.__name__ = f"new_{cls.__name__}"
    make.__doc__ = f"A {cls.__name__} from every field, positionally ({', '.join(names)})."
    return make


def _layout_twin(cls: type) -> type | None:
    """A plain class whose instances can become ``cls`` instances, or ``None`` if none can.

    Only a class whose slots are all its own (directly on ``object``) is twinned; the twin is
    tried once here, so a layout CPython will not convert is found now, not on the hot path.
    """
    if cls.__bases__ != (object,):
        return None
    slots = cls.__dict__["__slots__"]
    twin = type(f"_{cls.__name__}Fields", (), {"__slots__": tuple(slots)})
    try:
        object.__setattr__(object.__new__(twin), "__class__", cls)
    except TypeError:  # pragma: no cover - a layout difference this check did not foresee
        return None
    return twin
