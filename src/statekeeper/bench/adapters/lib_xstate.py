"""xstate-statemachine: an XState-style config compiled once, one ``SyncInterpreter`` each.

This is the library's documented synchronous path: ``create_machine(config)`` once per chart,
``SyncInterpreter(machine).start()`` per instance, and ``interpreter.send(event)``, which runs
the macrostep before returning (the async ``Interpreter`` would add an event loop to every
send, which statekeeper's in-process ``send`` does not pay).  Active leaves come from
``current_state_ids`` (``"comp.on.a"``), whose last segment is the plain name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..data_shapes import DATA_SHAPES, KEEP_EVEN, LIMIT, MAX_WEIGHT, PAUSE_AT, Payload
from ..shapes import FLAT20_MOVES, FLAT20_SIZE
from .base import Adapter

__all__ = ["XstateAdapter"]


def _ring(names: Sequence[str], event: str) -> dict[str, Any]:
    return {name: {"on": {event: names[(i + 1) % len(names)]}} for i, name in enumerate(names)}


def _config(shape: str) -> dict[str, Any]:
    if shape == "flat3":
        return {"id": "flat3", "initial": "a", "states": _ring(["a", "b", "c"], "next")}
    if shape == "flat20":
        states = {
            f"s{i}": {"on": {ev: f"s{(i + d) % FLAT20_SIZE}" for ev, d in FLAT20_MOVES.items()}}
            for i in range(FLAT20_SIZE)
        }
        return {"id": "flat20", "initial": "s0", "states": states}
    if shape == "compound":
        return {"id": "compound", "initial": "on", "states": {
            "on": {"initial": "a", "on": {"toggle": "off"},
                   "states": _ring(["a", "b", "c"], "cycle")},
            "off": {"on": {"toggle": "on"}},
        }}  # fmt: skip
    if shape == "parallel":
        return {"id": "parallel", "initial": "p", "states": {"p": {"type": "parallel", "states": {
            "r1": {"initial": "x1", "states": _ring(["x1", "x2", "x3"], "tick")},
            "r2": {"initial": "y1", "states": _ring(["y1", "y2"], "tick")},
        }}}}  # fmt: skip
    raise ValueError(shape)  # pragma: no cover


def _plus(key: str, by: str | None = None) -> Any:
    """An ``assign`` updater ``context[key] + 1`` (or ``+ event.payload[by]``)."""
    if by is None:
        return lambda a: a["context"][key] + 1
    return lambda a: a["context"][key] + a["event"].payload[by]


def _payload(key: str) -> Any:
    return lambda a: a["event"].payload[key]


#: Named guards ``(context, event) -> bool``, as the library's README binds them.
_GUARDS: dict[str, Any] = {
    "fits": lambda ctx, e: ctx["total"] + e.payload["amount"] <= LIMIT,
    "smallKeep": lambda ctx, e: e.payload["keep"] < KEEP_EVEN,
    "bigStep": lambda ctx, e: e.payload["amount"] >= 5,
    "heavy": lambda ctx, e: ctx["total"] > PAUSE_AT,
    "covers": lambda ctx, e: e.payload["amount"] >= ctx["due"],
    "light": lambda ctx, e: e.payload["weight"] <= MAX_WEIGHT,
    "positive": lambda ctx, e: e.payload["amount"] > 0,
}


def _state_in(state: str) -> dict[str, Any]:
    return {"type": "stateIn", "params": {"state": state}}


def _data_config(shape: str) -> dict[str, Any]:
    """The data-driven configs: ``assign`` updaters, named guards and ``stateIn`` for In()."""
    from xstate_statemachine import assign

    context = dict(DATA_SHAPES[shape].data)
    if shape == "guarded_flat":
        added = assign({"n": _plus("n"), "total": _plus("total", "amount")})

        def add(target: str) -> list[Any]:
            return [{"target": target, "guard": "fits", "actions": added}, {"target": "full"}]

        kept = assign({"total": _payload("keep")})
        return {"id": shape, "initial": "even", "context": context, "states": {
            "even": {"on": {"add": add("odd")}},
            "odd": {"on": {"add": add("even")}, "entry": assign({"odds": _plus("odds")})},
            "full": {"exit": assign({"resets": _plus("resets")}), "on": {"reset": [
                {"target": "even", "guard": "smallKeep", "actions": kept},
                {"target": "odd", "actions": kept},
            ]}},
        }}  # fmt: skip
    if shape == "guarded_compound":
        stepped = assign({"total": _plus("total", "amount")})
        return {"id": shape, "initial": "work", "context": context, "states": {
            "work": {"initial": "a", "states": {
                "a": {"on": {"step": {"target": "b", "actions": stepped}}},
                "b": {"on": {"step": [{"target": "c", "guard": "bigStep", "actions": stepped},
                                      {"target": "a", "actions": stepped}]}},
                "c": {"on": {"step": {"target": "a", "actions": [
                    stepped, assign({"laps": _plus("laps")})]}}},
            }, "on": {"pause": [
                {"target": "paused", "guard": _state_in("c"),
                 "actions": assign({"deep": _plus("deep")})},
                {"target": "paused", "guard": "heavy", "actions": assign({"total": lambda a: 0})},
            ]}},
            "paused": {"entry": assign({"pauses": _plus("pauses")}), "on": {"resume": "work"}},
        }}  # fmt: skip
    if shape == "order":
        return {"id": shape, "initial": "idle", "context": context, "states": {
            "idle": {"on": {"place": {"target": "open", "guard": "positive",
                                      "actions": assign({"due": _payload("amount")})}}},
            "open": {"type": "parallel", "entry": assign({"orders": _plus("orders")}),
                     "on": {"close": {"target": "idle", "guard": _state_in("shipped")}},
                     "states": {
                "payment": {"initial": "unpaid", "states": {
                    "unpaid": {"on": {"authorize": [
                        {"target": "authorized", "guard": "covers",
                         "actions": assign({"held": _payload("amount")})},
                        {"target": "declined", "actions": assign({"declines": _plus("declines")})},
                    ]}},
                    "declined": {"on": {"retry": "unpaid"}},
                    "authorized": {"on": {"capture": {"target": "paid", "actions": assign(
                        {"revenue": lambda a: a["context"]["revenue"] + a["context"]["due"]})}}},
                    "paid": {},
                }},
                "shipping": {"initial": "waiting", "states": {
                    "waiting": {"on": {"pack": {"target": "packed", "guard": _state_in("paid"),
                                                "actions": assign({"parcels": _plus("parcels")})}}},
                    "packed": {"on": {"ship": {"target": "shipped", "guard": "light"}}},
                    "shipped": {"entry": assign({"shipments": _plus("shipments")})},
                }},
            }},
        }}  # fmt: skip
    raise ValueError(shape)  # pragma: no cover


class XstateAdapter(Adapter):
    """Drives ``xstate_statemachine.SyncInterpreter`` through ``send``."""

    name = "xstate-statemachine"
    note = ("create_machine(config, logic=MachineLogic(guards=)) once; "
            "SyncInterpreter(machine).start() per instance; send(event, **payload); assign() "
            "updaters; In() is the built-in stateIn guard")

    def build(self, shape: str) -> Any:
        from xstate_statemachine import MachineLogic, create_machine

        if shape in DATA_SHAPES:
            return create_machine(_data_config(shape), logic=MachineLogic(guards=_GUARDS))
        return create_machine(_config(shape))

    def creator(self, factory: Any) -> Callable[[], Any]:
        from xstate_statemachine import SyncInterpreter

        def create() -> Any:
            return SyncInterpreter(factory).start()

        return create

    def bind(self, instance: Any) -> Callable[[str], object]:
        send: Callable[[str], object] = instance.send
        return send

    def bind_data(self, instance: Any) -> Callable[[str, Payload], object]:
        send = instance.send

        def send_data(event: str, payload: Payload) -> object:
            return send(event, **payload)

        return send_data

    def run_data(self, instance: Any, stream: Sequence[tuple[str, Payload]]) -> None:
        send = instance.send
        for event, payload in stream:
            send(event, **payload)

    def data(self, instance: Any, keys: Sequence[str]) -> dict[str, int]:
        context = instance.context
        return {key: context[key] for key in keys}

    def leaves(self, instance: Any) -> frozenset[str]:
        return frozenset(sid.rsplit(".", 1)[-1] for sid in instance.current_state_ids)
