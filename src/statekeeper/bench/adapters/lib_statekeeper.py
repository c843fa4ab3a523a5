"""statekeeper itself: charts compiled once, one ``Machine`` per instance, ``send`` by name.

This is the baseline every ratio is taken against, so it uses exactly the public API a user
would: ``compile_chart`` once per chart, ``Machine(compiled)`` per instance and a pre-bound
``m.send``.  Active leaves are the configuration minus the shape's compound/parallel ids.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from ..data_shapes import DATA_SHAPES, KEEP_EVEN, LIMIT, MAX_WEIGHT, PAUSE_AT, Payload
from ..shapes import FLAT20_MOVES, FLAT20_SIZE, SHAPES
from .base import Adapter

__all__ = ["StatekeeperAdapter"]


def _charts() -> dict[str, Any]:
    """Return the four benchmark charts, written the way the statekeeper docs write charts."""
    from statekeeper import Chart, Parallel, State

    flat20 = {
        f"s{i}": State(on={ev: f"s{(i + d) % FLAT20_SIZE}" for ev, d in FLAT20_MOVES.items()})
        for i in range(FLAT20_SIZE)
    }
    return {
        "flat3": Chart("flat3", initial="a", states={
            "a": State(on={"next": "b"}),
            "b": State(on={"next": "c"}),
            "c": State(on={"next": "a"}),
        }),
        "flat20": Chart("flat20", initial="s0", states=flat20),
        "compound": Chart("compound", initial="on", states={
            "on": State(initial="a", states={
                "a": State(on={"cycle": "b"}),
                "b": State(on={"cycle": "c"}),
                "c": State(on={"cycle": "a"}),
            }, on={"toggle": "off"}),
            "off": State(on={"toggle": "on"}),
        }),
        "parallel": Chart("parallel", initial="p", states={"p": Parallel(states={
            "r1": State(initial="x1", states={
                "x1": State(on={"tick": "x2"}),
                "x2": State(on={"tick": "x3"}),
                "x3": State(on={"tick": "x1"}),
            }),
            "r2": State(initial="y1", states={
                "y1": State(on={"tick": "y2"}),
                "y2": State(on={"tick": "y1"}),
            }),
        })}),
    }  # fmt: skip


def _plus(key: str, by: str | None = None) -> Callable[[Any, Any], int]:
    """A function ``data[key] + 1`` (or ``+ event.data[by]``): the usual counter assign."""
    if by is None:
        return lambda data, event: int(data[key]) + 1
    return lambda data, event: int(data[key]) + int(event.data[by])


#: The guards and functions of the data-driven charts, bound by name as a user binds them.
GUARDS: dict[str, Callable[[Any, Any], bool]] = {
    "fits": lambda data, event: data["total"] + event.data["amount"] <= LIMIT,
    "small_keep": lambda data, event: event.data["keep"] < KEEP_EVEN,
    "big_step": lambda data, event: event.data["amount"] >= 5,
    "heavy": lambda data, event: data["total"] > PAUSE_AT,
    "covers": lambda data, event: event.data["amount"] >= data["due"],
    "light": lambda data, event: event.data["weight"] <= MAX_WEIGHT,
    "positive": lambda data, event: event.data["amount"] > 0,
}
FUNCTIONS: dict[str, Callable[[Any, Any], Any]] = {
    "n+1": _plus("n"), "total+amount": _plus("total", "amount"), "odds+1": _plus("odds"),
    "resets+1": _plus("resets"), "keep": lambda data, event: event.data["keep"],
    "laps+1": _plus("laps"), "deep+1": _plus("deep"), "pauses+1": _plus("pauses"),
    "amount": lambda data, event: event.data["amount"], "orders+1": _plus("orders"),
    "declines+1": _plus("declines"), "revenue+due": lambda data, event: data["revenue"] + data["due"],
    "parcels+1": _plus("parcels"), "shipments+1": _plus("shipments"),
}  # fmt: skip


def _data_charts() -> dict[str, Any]:
    """The data-driven charts: guards and assigns by name, as the quickstart writes them."""
    from statekeeper import Assign, Chart, Parallel, State, Transition

    def add(target: str) -> list[Any]:
        return [Transition(target, cond="fits", actions=[Assign("n", expr="n+1"),
                                                         Assign("total", expr="total+amount")]),
                Transition("full")]

    def step(target: str, *more: Any, cond: str | None = None) -> Any:
        return Transition(target, cond=cond, actions=[Assign("total", expr="total+amount"), *more])

    keep = Assign("total", expr="keep")
    flat = Chart("guarded_flat", initial="even", data=dict(DATA_SHAPES["guarded_flat"].data), states={
        "even": State(on={"add": add("odd")}),
        "odd": State(on={"add": add("even")}, entry=[Assign("odds", expr="odds+1")]),
        "full": State(on={"reset": [Transition("even", cond="small_keep", actions=[keep]),
                                    Transition("odd", actions=[keep])]},
                      exit=[Assign("resets", expr="resets+1")]),
    })
    compound = Chart("guarded_compound", initial="work",
                     data=dict(DATA_SHAPES["guarded_compound"].data), states={
        "work": State(initial="a", states={
            "a": State(on={"step": step("b")}),
            "b": State(on={"step": [step("c", cond="big_step"), step("a")]}),
            "c": State(on={"step": step("a", Assign("laps", expr="laps+1"))}),
        }, on={"pause": [
            Transition("paused", cond="In(c)", actions=[Assign("deep", expr="deep+1")]),
            Transition("paused", cond="heavy", actions=[Assign("total", value=0)]),
        ]}),
        "paused": State(on={"resume": "work"}, entry=[Assign("pauses", expr="pauses+1")]),
    })
    order = Chart("order", initial="idle", data=dict(DATA_SHAPES["order"].data), states={
        "idle": State(on={"place": Transition("open", cond="positive",
                                              actions=[Assign("due", expr="amount")])}),
        "open": Parallel(entry=[Assign("orders", expr="orders+1")],
                         on={"close": Transition("idle", cond="In(shipped)")}, states={
            "payment": State(initial="unpaid", states={
                "unpaid": State(on={"authorize": [
                    Transition("authorized", cond="covers", actions=[Assign("held", expr="amount")]),
                    Transition("declined", actions=[Assign("declines", expr="declines+1")]),
                ]}),
                "declined": State(on={"retry": "unpaid"}),
                "authorized": State(on={"capture": Transition(
                    "paid", actions=[Assign("revenue", expr="revenue+due")])}),
                "paid": State(),
            }),
            "shipping": State(initial="waiting", states={
                "waiting": State(on={"pack": Transition(
                    "packed", cond="In(paid)", actions=[Assign("parcels", expr="parcels+1")])}),
                "packed": State(on={"ship": Transition("shipped", cond="light")}),
                "shipped": State(entry=[Assign("shipments", expr="shipments+1")]),
            }),
        }),
    })
    return {"guarded_flat": flat, "guarded_compound": compound, "order": order}  # fmt: skip


class StatekeeperAdapter(Adapter):
    """Drives ``statekeeper.Machine`` through ``send``."""

    name = "statekeeper"
    note = ("compile_chart(chart, guards=, functions=) once; Machine(compiled) per instance; "
            "m.send(event, payload); guards and Assign functions are Python callables by name")

    #: Compound/parallel ids of every shape; no shape reuses one of them as a leaf name.
    _composites = frozenset().union(*(shape.composites for shape in SHAPES.values()),
                                    *(shape.composites for shape in DATA_SHAPES.values()))

    def version(self) -> str:
        """Return the distribution's version, or the package's when run from a source tree."""
        found = super().version()
        if found == "?":
            import statekeeper

            found = str(getattr(statekeeper, "__version__", "?"))
        return found

    def build(self, shape: str) -> Any:
        from statekeeper import compile_chart

        if shape in DATA_SHAPES:
            return compile_chart(_data_charts()[shape], guards=GUARDS, functions=FUNCTIONS)
        return compile_chart(_charts()[shape])

    def creator(self, factory: Any) -> Callable[[], Any]:
        from statekeeper import Machine

        return partial(Machine, factory)

    def bind(self, instance: Any) -> Callable[[str], object]:
        send: Callable[[str], object] = instance.send
        return send

    def leaves(self, instance: Any) -> frozenset[str]:
        return frozenset(instance.configuration) - self._composites

    def bind_data(self, instance: Any) -> Callable[[str, Payload], object]:
        send: Callable[[str, Payload], object] = instance.send
        return send

    def data(self, instance: Any, keys: Sequence[str]) -> dict[str, int]:
        return {key: instance.data[key] for key in keys}
