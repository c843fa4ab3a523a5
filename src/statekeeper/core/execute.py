"""Compile executable content (actions as data) into closures over the running step.

Each compiled action is ``fn(run) -> None`` where ``run`` is the step's working state (see
``statekeeper.core._run.Run``).  An exception stops the enclosing block; the step turns it
into ``error.execution`` (SCXML 5.10, https://www.w3.org/TR/scxml/#errorsAndEvents).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ._marks import mark, mark_of
from ._shapes import shown
from .actions import (
    LATE_POLICIES,
    MISSING,
    Action,
    Assign,
    Call,
    Cancel,
    Content,
    Effect,
    Foreach,
    If,
    Log,
    Param,
    Raise,
    Script,
    Send,
)
from .datamodel import DataModel, EvalContext
from .durations import parse_duration
from .errors import ChartError
from .events import SCXML_PROCESSOR
from .views import _PLAIN

__all__ = ["SCXML_PROCESSOR", "compile_actions", "compile_content", "compile_params"]

_SEND_TYPES = (None, "scxml", SCXML_PROCESSOR)

Compiled = Callable[[Any], None]


def compile_actions(actions: Sequence[Action], dm: DataModel, where: str | None) -> tuple[Compiled, ...]:
    """Compile a block of actions, in order."""
    return tuple(_compile(action, dm, where) for action in actions)


def _compile(action: Action, dm: DataModel, where: str | None) -> Compiled:
    compiler = _COMPILERS.get(type(action))
    if compiler is None:
        raise ChartError(f"{action!r} is not an action", where)
    return compiler(action, dm, where)


def _value(expr: str | None, value: Any, dm: DataModel, where: str | None) -> Callable[[EvalContext], Any]:
    if expr is not None:
        return dm.expr(expr, where)
    literal = None if value is MISSING else value
    return lambda ctx: literal


def _assign(action: Assign, dm: DataModel, where: str | None) -> Compiled:
    setter = dm.location(action.location, where)
    if action.expr is not None:
        fused = dm.assign_action(action.location, action.expr, where)
        if fused is not None:  # one call per assign: assigns run on (almost) every event
            return fused
    get = _value(action.expr, action.value, dm, where)

    def run(r: Any) -> None:
        ctx = r.ctx
        setter(ctx, get(ctx))

    top = mark_of(setter)
    if action.expr is None and top is not None and type(action.value) in _PLAIN:
        mark(run, "set", top[1], action.value)  # a scalar to a top-level name
    return run


def _event_name(name: Any, what: str, where: str | None) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ChartError(f"{what} needs an event name (a non-empty string), not {shown(name)}",
                         where)
    return name


def _raise(action: Raise, dm: DataModel, where: str | None) -> Compiled:
    name = _event_name(action.event, "raise", where)
    return lambda r: r.raise_event(name)


def compile_params(params: Sequence[Param], namelist: Sequence[str], dm: DataModel,
                   where: str | None) -> Callable[[EvalContext], dict[str, Any]]:
    """Compile ``namelist`` and ``<param>`` children into one evaluator of a dict."""
    if isinstance(namelist, str):
        raise ChartError(f"namelist must be a tuple of data locations, not the string "
                         f"{namelist!r}; write {tuple(namelist.split())!r}", where)
    readers: list[tuple[str, Callable[[EvalContext], Any]]] = [
        (name, dm.read_location(name, where)) for name in namelist
    ]
    for param in params:
        if not isinstance(param, Param):
            raise ChartError(f"a param must be Param(name, expr=... | location=... | value=...), "
                             f"not {param!r}", where)
        if param.location is not None:
            readers.append((param.name, dm.read_location(param.location, where)))
        else:
            readers.append((param.name, _value(param.expr, param.value, dm, where)))

    def evaluate(ctx: EvalContext) -> dict[str, Any]:
        return {name: read(ctx) for name, read in readers}

    return evaluate


def compile_content(content: Content | None, dm: DataModel,
                    where: str | None) -> Callable[[EvalContext], Any] | None:
    """Compile a ``<content>`` body, or return ``None`` when there is none."""
    if content is None:
        return None
    if not isinstance(content, Content):
        raise ChartError(f"content must be Content(value=...) or Content(expr=...), not a "
                         f"{type(content).__name__}; write content=Content(value=...)", where)
    return _value(content.expr, content.value, dm, where)


def _send(action: Send, dm: DataModel, where: str | None) -> Compiled:
    # literals are known now: one that can never work is a chart error, not error.execution
    if action.eventexpr is None and action.event is not None:
        _event_name(action.event, "send", where)
    if action.delayexpr is None and action.delay not in (None, ""):
        try:
            parse_duration(action.delay)
        except ValueError as exc:
            raise ChartError(f"send: {exc}", where) from None
    event = _value(action.eventexpr, action.event, dm, where)
    target = _value(action.targetexpr, action.target, dm, where)
    kind = _value(action.typeexpr, action.type, dm, where)
    delay = _value(action.delayexpr, action.delay, dm, where)
    # a literal delay (every ``after``'s) is parsed once, here, not on every send
    fixed: float | None = None
    if action.delayexpr is None:
        fixed = parse_duration(action.delay) if action.delay not in (None, "") else 0.0
    params = compile_params(action.params, action.namelist, dm, where)
    content = compile_content(action.content, dm, where)
    literal_data = action.data
    id_setter = dm.location(action.idlocation, where) if action.idlocation else None
    fixed_id = action.id
    late = action.late
    if late is not None and late not in LATE_POLICIES:
        raise ChartError(f"send: late must be 'fire_late', 'skip' or None (the worker's "
                         f"policy), not {late!r}", where)
    has_params = bool(action.params or action.namelist)

    def run(r: Any) -> None:
        ctx = r.ctx
        name = event(ctx)
        if not isinstance(name, str) or not name:
            raise ValueError(f"send needs an event name, got {name!r}")
        dest = target(ctx)
        io_type = kind(ctx)
        if io_type not in _SEND_TYPES:
            raise ValueError(f"unsupported send type {io_type!r}")
        if fixed is None:
            raw_delay = delay(ctx)
            seconds = parse_duration(raw_delay) if raw_delay not in (None, "") else 0.0
        else:
            seconds = fixed
        if content is not None:
            data = content(ctx)
        elif has_params:
            data = params(ctx)
        else:
            data = None if literal_data is MISSING else literal_data
        sendid = fixed_id
        if sendid is None:
            sendid = r.new_sendid()
            if id_setter is not None:
                id_setter(ctx, sendid)
        explicit = fixed_id is not None or id_setter is not None
        r.send(dest, name, data, seconds, sendid, explicit, late)

    return run


def _cancel(action: Cancel, dm: DataModel, where: str | None) -> Compiled:
    if action.sendidexpr is None and (not isinstance(action.sendid, str) or not action.sendid):
        raise ChartError(f"cancel needs a sendid (the id of a send) or a sendidexpr, not "
                         f"{shown(action.sendid)}", where)
    get = _value(action.sendidexpr, action.sendid, dm, where)
    return lambda r: r.cancel(get(r.ctx))


def _log(action: Log, dm: DataModel, where: str | None) -> Compiled:
    get = _value(action.expr, action.value, dm, where)
    label = action.label
    return lambda r: r.log(label, get(r.ctx))


def _if(action: If, dm: DataModel, where: str | None) -> Compiled:
    branches = [
        (None if cond is None else dm.cond(cond, where), compile_actions(body, dm, where))
        for cond, body in action.branches
    ]

    def run(r: Any) -> None:
        ctx = r.ctx
        for cond, body in branches:
            if cond is None or cond(ctx):
                for step in body:
                    step(r)
                return

    return run


def _foreach(action: Foreach, dm: DataModel, where: str | None) -> Compiled:
    array = dm.expr(action.array, where)
    item = dm.location(action.item, where) if _is_name(action.item) else None
    index = dm.location(action.index, where) if action.index else None
    body = compile_actions(action.actions, dm, where)
    item_name = action.item

    def run(r: Any) -> None:
        ctx = r.ctx
        if item is None:
            raise ValueError(f"foreach item {item_name!r} is not a legal variable name")
        values = array(ctx)
        if values is None or isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise TypeError(f"foreach array is not iterable: {values!r}")
        for position, value in enumerate(list(values)):
            _declare(ctx, item_name)
            item(ctx, value)
            if index is not None:
                _declare(ctx, action.index or "")
                index(ctx, position)
            for step in body:
                step(r)

    return run


def _declare(ctx: EvalContext, name: str) -> None:
    if name.isidentifier() and name not in ctx.data:
        ctx.data[name] = None


def _is_name(text: str) -> bool:
    return all(part.isidentifier() for part in text.split("."))


def _script(action: Script, dm: DataModel, where: str | None) -> Compiled:
    run_script = dm.script(action.source, where)
    return lambda r: run_script(r.ctx)


def _call(action: Call, dm: DataModel, where: str | None) -> Compiled:
    call = dm.call(action.fn, where)
    return lambda r: call(r.ctx)


def _effect(action: Effect, dm: DataModel, where: str | None) -> Compiled:
    name = action.name
    args_expr = dm.expr(action.argsexpr, where) if action.argsexpr else None
    literal = dict(action.args)

    def run(r: Any) -> None:
        args = args_expr(r.ctx) if args_expr is not None else dict(literal)
        r.effect(name, args)

    return run


_COMPILERS: dict[type, Callable[[Any, DataModel, str | None], Compiled]] = {
    Assign: _assign,
    Raise: _raise,
    Send: _send,
    Cancel: _cancel,
    Log: _log,
    If: _if,
    Foreach: _foreach,
    Script: _script,
    Call: _call,
    Effect: _effect,
}
