"""Datamodels: how a chart's expressions, conditions and locations become callables.

The step never sees expression text.  :func:`compile_chart` asks the chart's datamodel to turn
every expression into a callable over an :class:`EvalContext` once, so a missing name fails at
definition time and the hot path calls plain functions.

* :class:`FunctionsDataModel` (the default): an expression is the *name* of a bound callable
  ``fn(data, event)``.  Nothing is ever evaluated from text.
* :class:`PythonDataModel`: an expression is Python source, evaluated with ``eval`` over the
  data.  Used only for SCXML documents loaded with ``trusted=True``.
"""

from __future__ import annotations

import builtins
import warnings
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from ._context import EvalContext
from ._marks import mark
from .errors import ChartError, UnboundName
from .events import Event
from .views import _PLAIN, DataView, ListView, thaw

__all__ = [
    "AttrDict",
    "DataModel",
    "EvalContext",
    "FunctionsDataModel",
    "PythonDataModel",
    "need_text",
]

Evaluator = Callable[["EvalContext"], Any]
Setter = Callable[["EvalContext", Any], None]


class AttrDict(dict[str, Any]):
    """A dict that also allows attribute access (``_event.data.aParam``), as SCXML tests expect."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


GUARD, EXPRESSION, LOCATION, SCRIPT = "a guard (cond)", "an expression", "a data location", "a script"


def need_text(text: Any, what: str, where: str | None) -> str:
    """``text`` itself if it is a string, else the :class:`ChartError` a hand-written chart needs.

    Charts written in Python are not type-checked by everyone: a literal where an expression
    belongs (``Assign("x", 1)``) must fail at compile time with its state, not as an
    ``AttributeError`` from inside the datamodel.
    """
    if isinstance(text, str):
        return text
    hint = f"; a literal value goes in value={text!r}" if what == EXPRESSION else ""
    raise ChartError(f"{what} must be a string, not {text!r}{hint}", where)


class DataModel:
    """Turns expression text into callables; subclasses define what the text means."""

    name = "abstract"

    def expr(self, text: str, where: str | None) -> Evaluator:
        raise NotImplementedError

    def cond(self, text: str, where: str | None) -> Callable[[EvalContext], bool]:
        evaluate = self.expr(need_text(text, GUARD, where), where)
        return lambda ctx: bool(evaluate(ctx))

    def location(self, text: str, where: str | None) -> Setter:
        raise NotImplementedError

    def read_location(self, text: str, where: str | None) -> Evaluator:
        return self.expr(text, where)

    def assign_action(self, location: str, expr: str,
                      where: str | None) -> Callable[[Any], None] | None:
        """The action ``location = expr`` as one callable, where a datamodel can make one.

        It is called with the step's working state (its ``ctx`` is the :class:`EvalContext`),
        as every compiled action is.  ``None`` (the default) lets the caller combine
        :meth:`location` and :meth:`expr`.
        """
        return None

    def script(self, source: str, where: str | None) -> Callable[[EvalContext], None]:
        raise ChartError(f"the {self.name!r} datamodel cannot run scripts", where)

    def call(self, name: str, where: str | None) -> Callable[[EvalContext], Any]:
        raise ChartError(f"the {self.name!r} datamodel cannot call functions", where)


def _path(text: str, where: str | None) -> list[str]:
    parts = need_text(text, LOCATION, where).split(".")
    if not text or not all(p.isidentifier() for p in parts):
        raise ChartError(f"invalid data location {text!r}", where)
    return parts


class FunctionsDataModel(DataModel):
    """Expressions are names of callables ``fn(data, event) -> value`` bound at compile time.

    Guards come from ``guards``, value functions and :class:`~statekeeper.Call` targets from
    ``functions``.  A location is a dotted path into the data (``"order.total"``).  Callables
    receive a read-only view of the data and of the event's payload, nested containers
    included (:mod:`statekeeper.core.views`): they compute, they never mutate; what they
    return is taken back as plain data.
    """

    name = "functions"

    def __init__(
        self,
        guards: Mapping[str, Callable[..., Any]] | None = None,
        functions: Mapping[str, Callable[..., Any]] | None = None,
    ) -> None:
        self.guards = dict(guards or {})
        self.functions = dict(functions or {})

    def _lookup(self, table: dict[str, Callable[..., Any]], kind: str, name: str,
                where: str | None) -> Callable[..., Any]:
        fn = table.get(name)
        if fn is None:
            known = ", ".join(sorted(table)) or "none"
            raise UnboundName(f"{kind} {name!r} is not provided (provided: {known})", where)
        return fn

    def cond(self, text: str, where: str | None) -> Callable[[EvalContext], bool]:
        negate = need_text(text, GUARD, where).startswith("!")
        name = text[1:].strip() if negate else text
        if name.startswith("In(") and name.endswith(")"):
            state = name[3:-1].strip().strip("'\"")
            if negate:
                return mark(lambda ctx: state not in ctx.active_ids(), "in", state, True)
            return mark(lambda ctx: state in ctx.active_ids(), "in", state, False)
        fn = self._lookup(self.guards, "guard", name, where)
        # the views are read inline: a guard runs on (almost) every event
        if negate:
            def guard_not(ctx: EvalContext) -> bool:
                view = ctx.view
                return not fn(ctx.data_view() if view is None else view,
                              ctx.seen_view if ctx.seen is ctx.event else ctx.event_view())

            return mark(guard_not, "call", fn, True)

        def guard(ctx: EvalContext) -> bool:
            view = ctx.view
            held = fn(ctx.data_view() if view is None else view,
                      ctx.seen_view if ctx.seen is ctx.event else ctx.event_view())
            return held if held.__class__ is bool else bool(held)

        return mark(guard, "call", fn, False)

    def expr(self, text: str, where: str | None) -> Evaluator:
        fn = self._lookup(self.functions, "function", need_text(text, EXPRESSION, where), where)

        def evaluate(ctx: EvalContext) -> Any:
            view = ctx.view
            value = fn(ctx.data_view() if view is None else view,
                       ctx.seen_view if ctx.seen is ctx.event else ctx.event_view())
            return value if type(value) in _PLAIN else thaw(value)

        return evaluate

    def assign_action(self, location: str, expr: str,
                      where: str | None) -> Callable[[Any], None] | None:
        """``location = expr`` in one call, when the location is a top-level name."""
        parts = _path(location, where)
        if len(parts) != 1:
            return None
        (name,) = parts
        fn = self._lookup(self.functions, "function", need_text(expr, EXPRESSION, where), where)

        def assign(run: Any) -> None:
            ctx = run.ctx
            view = ctx.view
            value = fn(ctx.data_view() if view is None else view,
                       ctx.seen_view if ctx.seen is ctx.event else ctx.event_view())
            if type(value) not in _PLAIN:
                value = thaw(value)
                ctx.view = None  # a container now: the data is no longer flat
            ctx.data[name] = value

        return mark(assign, "assign", name, fn)

    def read_location(self, text: str, where: str | None) -> Evaluator:
        parts = _path(text, where)

        def read(ctx: EvalContext) -> Any:
            value: Any = ctx.data
            for part in parts:
                value = value[part]
            return value

        return read

    def location(self, text: str, where: str | None) -> Setter:
        parts = _path(text, where)
        if len(parts) == 1:
            (name,) = parts

            def assign_top(ctx: EvalContext, value: Any) -> None:
                ctx.data[name] = value  # the step's own copy of the top-level dict
                if type(value) not in _PLAIN:
                    ctx.view = None  # a container now: the data is no longer flat

            return mark(assign_top, "top", name)

        def assign(ctx: EvalContext, value: Any) -> None:
            # Copy each dict along the path: the snapshot the step started from is never mutated.
            target = ctx.data
            ctx.view = None  # a copied dict replaces the top-level value
            for part in parts[:-1]:
                child = target.get(part)
                if not isinstance(child, dict):
                    raise KeyError(f"data location {text!r}: {part!r} is not a mapping")
                child = dict(child)
                target[part] = child
                target = child
            target[parts[-1]] = value

        return assign

    def call(self, name: str, where: str | None) -> Callable[[EvalContext], Any]:
        fn = self._lookup(self.functions, "function", name, where)

        def run(ctx: EvalContext) -> None:
            new = thaw(fn(ctx.data_view(), ctx.event_view()))
            if new is not None and new is not ctx.data:
                if not isinstance(new, Mapping):
                    raise TypeError(f"function {name!r} returned {type(new).__name__}, not data")
                new = dict(new)
                ctx.data.clear()
                ctx.data.update(new)
                ctx.view = None

        return run


_SYSTEM = ("_event", "_sessionid", "_name", "_ioprocessors", "_x")
_ECMA = {"true": True, "false": False, "null": None}


class PythonDataModel(DataModel):
    """Expressions are Python source evaluated over the data (trusted SCXML documents only).

    Invalid source does not fail loading: SCXML requires that it raise ``error.execution`` when
    it runs, so a compile failure is turned into an evaluator that raises.
    """

    name = "python"

    def __init__(self, functions: Mapping[str, Callable[..., Any]] | None = None) -> None:
        self.functions = dict(functions or {})

    def _globals(self, ctx: EvalContext) -> dict[str, Any]:
        system = ctx.system
        if not system:
            system.update(_ECMA)
            system.update(self.functions)
            system["__builtins__"] = builtins
            system["isinstance"] = _isinstance
            system["In"] = lambda state: state in ctx.active_ids()
            system["_sessionid"] = ctx.session
            system["_name"] = ctx.name
            system["_ioprocessors"] = AttrDict(
                scxml=AttrDict(location=f"#_scxml_{ctx.session}"),
                **{"http://www.w3.org/TR/scxml/#SCXMLEventProcessor": AttrDict(
                    location=f"#_scxml_{ctx.session}")},
            )
        system["_event"] = _event_view(ctx.event)
        return system

    def _code(self, text: str, mode: str, where: str | None) -> Any:
        source = text.strip() if mode == "eval" else _dedent(text)
        try:
            # Compiler warnings ("is" with a literal...) are the document's business: they must
            # neither print at load time nor become errors under ``-W error``.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SyntaxWarning)
                return compile(source, "<scxml>", mode)
        except SyntaxError as exc:
            message = f"invalid expression {text!r} in {where or 'chart'}: {exc.msg}"

            def fail(_: Any = None) -> Any:
                raise SyntaxError(message)

            return fail

    def expr(self, text: str, where: str | None) -> Evaluator:
        # the data is read through a view: a condition or an expression cannot write into it
        # (``items.append(1)`` fails as error.execution); scripts and assigns write
        code = self._code(need_text(text, EXPRESSION, where), "eval", where)
        if callable(code):
            return code  # type: ignore[no-any-return]
        return lambda ctx: thaw(eval(code, self._globals(ctx), DataView(ctx.data)))  # noqa: S307

    def location(self, text: str, where: str | None) -> Setter:
        root = need_text(text, LOCATION, where).strip().split(".")[0].split("[")[0]
        code = self._code(f"{text.strip()} = __value__", "exec", where)

        def assign(ctx: EvalContext, value: Any) -> None:
            if callable(code):
                code()
            if root in _SYSTEM or root.startswith("_event"):
                raise ValueError(f"system variable {root!r} is read-only")
            if not root.isidentifier():
                raise ValueError(f"invalid location {text!r}")
            if "[" not in text and "." not in text and root not in ctx.data:
                raise NameError(f"location {text!r} was not declared in the datamodel")
            namespace = self._globals(ctx)
            namespace["__value__"] = value
            try:
                exec(code, namespace, ctx.data)  # noqa: S102
            finally:
                namespace.pop("__value__", None)

        return assign

    def script(self, source: str, where: str | None) -> Callable[[EvalContext], None]:
        code = self._code(need_text(source, SCRIPT, where), "exec", where)
        if callable(code):
            return code  # type: ignore[no-any-return]

        def run(ctx: EvalContext) -> None:
            exec(code, self._globals(ctx), ctx.data)  # noqa: S102

        return run

    def call(self, name: str, where: str | None) -> Callable[[EvalContext], Any]:
        return self.script(f"{name}()", where)


def _isinstance(value: Any, kinds: Any) -> bool:
    """``isinstance`` as expressions need it: a read-only view is an instance of what it shows.

    Conditions and expressions read the data through views (a list shows as a
    :class:`~statekeeper.core.views.ListView`); ``x instanceof Array`` (``isinstance(x, list)``)
    must still hold for a list.
    """
    if isinstance(value, (DataView, ListView)):
        value = thaw(value)
    return isinstance(value, kinds)


def _dedent(source: str) -> str:
    lines = [line for line in source.splitlines() if line.strip()]
    if not lines:
        return "pass"
    indent = min(len(line) - len(line.lstrip()) for line in lines)
    return "\n".join(line[indent:] for line in lines)


def _event_view(event: Event | None) -> Any:
    if event is None:
        return None
    data = AttrDict(event.data) if isinstance(event.data, dict | MappingProxyType) \
        else event.data
    return AttrDict(
        name=event.name,
        type=event.type,
        sendid=event.sendid,
        origin=event.origin,
        origintype=event.origintype,
        invokeid=event.invokeid,
        data=data,
    )
