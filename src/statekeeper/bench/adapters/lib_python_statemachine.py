"""python-statemachine: declarative ``StateChart`` classes, one class instance per machine.

This is the library's own idiom: states and events are class attributes, compound and parallel
states are ``State.Compound`` / ``State.Parallel`` nested classes, instances are created by
calling the class, and events are sent by name with ``sm.send(event)``.  ``StateChart`` is the
SCXML-semantics base class of 3.x; flat20 is generated with ``types.new_class`` because writing
100 transitions by hand would obscure, not clarify, the machine.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Sequence
from typing import Any

from ..data_shapes import DATA_SHAPES, KEEP_EVEN, LIMIT, MAX_WEIGHT, PAUSE_AT, Payload
from ..shapes import FLAT20_MOVES, FLAT20_SIZE
from .base import Adapter

__all__ = ["PythonStatemachineAdapter"]


def _classes() -> dict[str, type[Any]]:
    from statemachine import State, StateChart

    class Flat3(StateChart[Any]):
        a = State(initial=True)
        b = State()
        c = State()
        next = a.to(b) | b.to(c) | c.to(a)

    def flat20_body(ns: dict[str, Any]) -> None:
        states = [State(initial=(i == 0)) for i in range(FLAT20_SIZE)]
        ns.update({f"s{i}": state for i, state in enumerate(states)})
        for event, delta in FLAT20_MOVES.items():
            moves = [states[i].to(states[(i + delta) % FLAT20_SIZE]) for i in range(FLAT20_SIZE)]
            combined = moves[0]
            for move in moves[1:]:
                combined = combined | move
            ns[event] = combined

    flat20 = types.new_class("Flat20", (StateChart[Any],), exec_body=flat20_body)

    class Compound(StateChart[Any]):
        class on(State.Compound):  # noqa: N801 -- the class name is the state id
            a = State(initial=True)
            b = State()
            c = State()
            cycle = a.to(b) | b.to(c) | c.to(a)

        off = State()
        toggle = on.to(off) | off.to(on)

    class Par(StateChart[Any]):
        class p(State.Parallel):  # noqa: N801 -- the class name is the state id
            class r1(State.Compound):  # noqa: N801 -- the class name is the state id
                x1 = State(initial=True)
                x2 = State()
                x3 = State()
                tick = x1.to(x2) | x2.to(x3) | x3.to(x1)

            class r2(State.Compound):  # noqa: N801 -- the class name is the state id
                y1 = State(initial=True)
                y2 = State()
                tick = y1.to(y2) | y2.to(y1)

    return {"flat3": Flat3, "flat20": flat20, "compound": Compound, "parallel": Par}


def _data_classes() -> dict[str, type[Any]]:
    """The data-driven charts: conditions and actions are methods, payloads keyword arguments.

    python-statemachine injects what a callback's parameters name (``amount``, ``keep``), and
    understands ``In('c')`` in a ``cond`` string.  Data are attributes of the machine.
    """
    from statemachine import State, StateChart

    class Flat(StateChart[Any]):
        even = State(initial=True)
        odd = State()
        full = State()
        add = (even.to(odd, cond="fits", on="added") | even.to(full)
               | odd.to(even, cond="fits", on="added") | odd.to(full))
        reset = full.to(even, cond="small_keep", on="kept") | full.to(odd, on="kept")

        n: int
        total: int
        odds: int
        resets: int

        def __init__(self) -> None:
            self.__dict__.update(DATA_SHAPES["guarded_flat"].data)
            super().__init__()

        def fits(self, amount: int) -> bool:
            return bool(self.total + amount <= LIMIT)

        def small_keep(self, keep: int) -> bool:
            return keep < KEEP_EVEN

        def added(self, amount: int) -> None:
            self.n += 1
            self.total += amount

        def on_enter_odd(self) -> None:
            self.odds += 1

        def kept(self, keep: int) -> None:
            self.total = keep

        def on_exit_full(self) -> None:
            self.resets += 1

    class Compound(StateChart[Any]):
        class work(State.Compound):  # noqa: N801 -- the class name is the state id
            a = State(initial=True)
            b = State()
            c = State()
            step = (a.to(b, on="stepped") | b.to(c, cond="big_step", on="stepped")
                    | b.to(a, on="stepped") | c.to(a, on=["stepped", "lapped"]))

        paused = State()
        # mypy types a compound's class-level ``to`` oddly; the library composes it fine.
        pause = (work.to(paused, cond="In('c')", on="deeper")  # type: ignore[operator]
                 | work.to(paused, cond="heavy", on="zero_total"))
        resume = paused.to(work)

        total: int
        laps: int
        deep: int
        pauses: int

        def __init__(self) -> None:
            self.__dict__.update(DATA_SHAPES["guarded_compound"].data)
            super().__init__()

        def big_step(self, amount: int) -> bool:
            return amount >= 5

        def heavy(self) -> bool:
            return bool(self.total > PAUSE_AT)

        def stepped(self, amount: int) -> None:
            self.total += amount

        def lapped(self) -> None:
            self.laps += 1

        def deeper(self) -> None:
            self.deep += 1

        def zero_total(self) -> None:
            self.total = 0

        def on_enter_paused(self) -> None:
            self.pauses += 1

    class Order(StateChart[Any]):
        idle = State(initial=True)

        class opened(State.Parallel):  # noqa: N801 -- the class name is the state id
            class payment(State.Compound):  # noqa: N801 -- the class name is the state id
                unpaid = State(initial=True)
                authorized = State()
                declined = State()
                paid = State()
                authorize = (unpaid.to(authorized, cond="covers", on="hold")
                             | unpaid.to(declined, on="decline"))
                retry = declined.to(unpaid)
                capture = authorized.to(paid, on="captured")

            class shipping(State.Compound):  # noqa: N801 -- the class name is the state id
                waiting = State(initial=True)
                packed = State()
                shipped = State()
                pack = waiting.to(packed, cond="In('paid')", on="parcel")
                ship = packed.to(shipped, cond="light")

        place = idle.to(opened, cond="positive", on="placed")
        close = opened.to(idle, cond="In('shipped')")

        due: int
        held: int
        revenue: int
        declines: int
        parcels: int
        shipments: int
        orders: int

        def __init__(self) -> None:
            self.__dict__.update(DATA_SHAPES["order"].data)
            super().__init__()

        def positive(self, amount: int) -> bool:
            return amount > 0

        def covers(self, amount: int) -> bool:
            return bool(amount >= self.due)

        def light(self, weight: int) -> bool:
            return weight <= MAX_WEIGHT

        def placed(self, amount: int) -> None:
            self.due = amount

        def hold(self, amount: int) -> None:
            self.held = amount

        def decline(self) -> None:
            self.declines += 1

        def captured(self) -> None:
            self.revenue += self.due

        def parcel(self) -> None:
            self.parcels += 1

        def on_enter_opened(self) -> None:
            self.orders += 1

        def on_enter_shipped(self) -> None:
            self.shipments += 1

    return {"guarded_flat": Flat, "guarded_compound": Compound, "order": Order}


class PythonStatemachineAdapter(Adapter):
    """Drives ``statemachine.StateChart`` subclasses through ``send``."""

    name = "python-statemachine"
    note = ("StateChart subclass per shape; instance = cls(); sm.send(event, **payload); "
            "cond/on are methods, In('x') in cond strings")

    def build(self, shape: str) -> Any:
        if shape in DATA_SHAPES:
            return _data_classes()[shape]
        return _classes()[shape]

    def creator(self, factory: Any) -> Callable[[], Any]:
        create: Callable[[], Any] = factory
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
        return {key: getattr(instance, key) for key in keys}

    def leaves(self, instance: Any) -> frozenset[str]:
        return frozenset(state.id for state in instance.configuration if state.is_atomic)
