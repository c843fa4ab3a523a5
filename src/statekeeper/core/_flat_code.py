"""A flat program as one straight function: its guards and assigns without loops around them.

:func:`statekeeper.core._flat.take` runs any flat program by walking its options and blocks;
walking them costs, per event, about as much as the author's guard and assigns themselves.
:func:`compiled` writes the same walk out once per program, as the source of one function,
and compiles it: each guard and assign becomes a call of a name bound to the author's
function, with what ``take`` does around it (the truth of a guard's answer, a block cut short
by an exception, a container thawed), in the same order.  Only names this module makes
(``_g0``, ``_f0_1_0``...) are written into the source; the functions, the data names and the
constants are bound to them in the function's globals, so nothing from a chart is ever
evaluated as text (as :func:`statekeeper.core._records.positional_constructor` writes its
constructors).  ``tests/core/test_flat.py`` runs both on generated charts and compares them.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .views import _PLAIN, DataView, thaw

if TYPE_CHECKING:
    from ._flat import FlatOption, FlatProgram
    from .events import Event
    from .nodes import TransitionNode

__all__ = ["FlatFailure", "Runner", "compiled", "data_view"]

#: a compiled program: ``run(data, event) -> (option taken or None, next data, next is flat)``
Runner = Callable[[dict[str, Any], "Event"], tuple["FlatOption | None", dict[str, Any], bool]]


class FlatFailure(Exception):
    """Raised by a flat program when a guard or function raised: how far the step got.

    ``option`` is the transition taken (``None``: none), ``data`` and ``view`` the data as its
    assigns left it and the view functions last read it through, ``errors`` each failure in
    order (the transition whose guard raised, or ``None`` for a function), for
    :func:`statekeeper.core._quick.resume` to go on from.
    """

    def __init__(self, option: FlatOption | None, data: dict[str, Any], view: Any,
                 errors: list[tuple[TransitionNode | None, Exception]]) -> None:
        super().__init__("a flat program's guard or function raised")
        self.option = option
        self.data = data
        self.view = view
        self.errors = errors


def data_view(data: dict[str, Any]) -> Any:
    """The read-only view functions get of ``data`` (as ``EvalContext.data_view`` makes it)."""
    return MappingProxyType(data) if _PLAIN.issuperset(map(type, data.values())) \
        else DataView(data)


def compiled(program: FlatProgram) -> Runner:
    """``program`` as one function doing exactly what ``take`` does with it."""
    scope: dict[str, Any] = {"_MPT": MappingProxyType, "_PLAIN": _PLAIN, "_thaw": thaw,
                             "_view": data_view, "_Failure": FlatFailure, "_bool": bool}
    lines = ["def run(data, event):",
             "    mine = dict(data)",
             "    view = _MPT(mine)",
             "    errors = None"]
    # the guards' errors once per active state that tried them (see FlatProgram.repeat)
    again = [] if program.repeat == 1 else [f"errors = errors * {program.repeat}"]
    for i, option in enumerate(program.options):
        scope[f"_o{i}"] = option
        if option.guard is None:  # taken without a call: the options after it never are
            lines += _taking(option, i, "    ", scope, again)
            break
        scope[f"_g{i}"], scope[f"_t{i}"] = option.guard, option.transition
        lines += ["    try:",
                  f"        held = _g{i}(view, event)",
                  "        if held.__class__ is not bool:",
                  "            held = _bool(held)",
                  "    except Exception as exc:",
                  f"        errors = [*(errors or ()), (_t{i}, exc)]",
                  f"        held = {option.negate}",  # whichever is not taken
                  f"    if {'not ' if option.negate else ''}held:"]
        lines += _taking(option, i, "        ", scope, again)
    else:
        lines += ["    if errors is not None:",
                  *(f"        {line}" for line in again),
                  "        raise _Failure(None, mine, view, errors)",
                  "    return None, data, True"]
    exec("\n".join(lines), scope)  # noqa: S102 - only names made here; values are in scope
    run: Runner = scope["run"]
    return run


def _taking(option: FlatOption, i: int, pad: str, scope: dict[str, Any],
            again: list[str]) -> list[str]:
    """The lines that take ``option`` (its blocks of assigns, then the answer).

    ``again`` are the lines that repeat the guards' errors (none: each is raised once).
    """
    lines = [f"{pad}flat = True"]
    if again:
        lines += [f"{pad}if errors is not None:", *(f"{pad}    {line}" for line in again)]
    called = False  # a function ran before: the view may have to be made again
    for b, block in enumerate(option.blocks):
        if not block:
            continue
        lines.append(f"{pad}try:")
        for k, (name, fn, value) in enumerate(block):
            at = f"{i}_{b}_{k}"
            scope[f"_n{at}"] = name
            if fn is None:
                scope[f"_v{at}"] = value
                lines.append(f"{pad}    mine[_n{at}] = _v{at}")
                continue
            scope[f"_f{at}"] = fn
            if called:
                lines += [f"{pad}    if view is None:", f"{pad}        view = _view(mine)"]
            called = True
            lines += [f"{pad}    value = _f{at}(view, event)",
                      f"{pad}    if type(value) not in _PLAIN:",
                      f"{pad}        value = _thaw(value)",
                      f"{pad}        view = None",
                      f"{pad}        flat = False",
                      f"{pad}    mine[_n{at}] = value"]
        lines += [f"{pad}except Exception as exc:",
                  f"{pad}    errors = [*(errors or ()), (None, exc)]"]
    return [*lines,
            f"{pad}if errors is not None:",
            f"{pad}    raise _Failure(_o{i}, mine, view, errors)",
            f"{pad}return _o{i}, mine, flat or _PLAIN.issuperset(map(type, mine.values()))"]
