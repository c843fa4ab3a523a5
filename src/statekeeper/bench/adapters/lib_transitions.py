"""transitions: one shared ``Machine`` per shape, one plain model object per instance.

transitions keeps the state on a *model*; its documented way to run many machines of one kind
is a single ``Machine`` (or ``HierarchicalMachine`` for nesting) with ``add_model`` per object,
which is far cheaper than building a ``Machine`` per object, so that is what an instance costs
here.  Auto transitions (``to_<state>``) are off, and events are sent by name through the
model's ``trigger``.  The shared machine holds every model and ``add_model`` checks membership
with a scan of that list, so instances are released between measurements; otherwise the cost
of creating one would grow with everything created before it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..data_shapes import DATA_SHAPES, KEEP_EVEN, LIMIT, MAX_WEIGHT, PAUSE_AT, Payload
from ..shapes import FLAT20_MOVES, FLAT20_SIZE
from .base import Adapter

__all__ = ["TransitionsAdapter"]


class _Model:
    """The plain object transitions decorates with ``state`` and trigger methods."""


def _ring(event: str, names: Sequence[str]) -> list[list[str]]:
    return [[event, src, names[(i + 1) % len(names)]] for i, src in enumerate(names)]


def _machine(shape: str) -> Any:
    from transitions import Machine
    from transitions.extensions import HierarchicalMachine

    if shape == "flat3":
        return Machine(
            model=None,
            states=["a", "b", "c"],
            initial="a",
            transitions=_ring("next", ["a", "b", "c"]),
            auto_transitions=False,
        )
    if shape == "flat20":
        names = [f"s{i}" for i in range(FLAT20_SIZE)]
        moves = [
            [ev, names[i], names[(i + d) % FLAT20_SIZE]]
            for ev, d in FLAT20_MOVES.items()
            for i in range(FLAT20_SIZE)
        ]
        return Machine(model=None, states=names, initial="s0", transitions=moves, auto_transitions=False)
    if shape == "compound":
        states = [
            {
                "name": "on",
                "initial": "a",
                "children": ["a", "b", "c"],
                "transitions": _ring("cycle", ["a", "b", "c"]),
            },
            "off",
        ]
        return HierarchicalMachine(
            model=None,
            states=states,
            initial="on",
            transitions=[["toggle", "on", "off"], ["toggle", "off", "on"]],
            auto_transitions=False,
        )
    if shape == "parallel":
        states = [
            {
                "name": "p",
                "parallel": [
                    {
                        "name": "r1",
                        "initial": "x1",
                        "children": ["x1", "x2", "x3"],
                        "transitions": _ring("tick", ["x1", "x2", "x3"]),
                    },
                    {
                        "name": "r2",
                        "initial": "y1",
                        "children": ["y1", "y2"],
                        "transitions": _ring("tick", ["y1", "y2"]),
                    },
                ],
            }
        ]
        return HierarchicalMachine(model=None, states=states, initial="p", auto_transitions=False)
    raise ValueError(shape)  # pragma: no cover


class _Data:
    """A model whose data are attributes, set from the shape's initial data."""

    initial: dict[str, int] = {}
    state: Any  # set by transitions' add_model

    def __init__(self) -> None:
        self.__dict__.update(self.initial)

    def _active(self, leaf: str) -> bool:
        # transitions has no In(); a condition reads the model's state (a list under parallel
        # states) for the leaf's full name, e.g. "open_payment_paid".
        return leaf in _flatten(self.state)


class _FlatModel(_Data):
    """guarded_flat: conditions and callbacks receive the payload as keyword arguments."""

    initial = dict(DATA_SHAPES["guarded_flat"].data)
    n: int
    total: int
    odds: int
    resets: int

    def fits(self, amount: int, **_: int) -> bool:
        return bool(self.total + amount <= LIMIT)

    def small_keep(self, keep: int, **_: int) -> bool:
        return keep < KEEP_EVEN

    def added(self, amount: int, **_: int) -> None:
        self.n += 1
        self.total += amount

    def on_enter_odd(self, **_: int) -> None:
        self.odds += 1

    def kept(self, keep: int, **_: int) -> None:
        self.total = keep

    def on_exit_full(self, **_: int) -> None:
        self.resets += 1


class _CompoundModel(_Data):
    """guarded_compound: ``In(c)`` is a condition reading the model's state."""

    initial = dict(DATA_SHAPES["guarded_compound"].data)
    total: int
    laps: int
    deep: int
    pauses: int

    def big_step(self, amount: int, **_: int) -> bool:
        return amount >= 5

    def in_c(self, **_: int) -> bool:
        return self._active("work_c")

    def heavy(self, **_: int) -> bool:
        return bool(self.total > PAUSE_AT)

    def stepped(self, amount: int, **_: int) -> None:
        self.total += amount

    def lapped(self, **_: int) -> None:
        self.laps += 1

    def deeper(self, **_: int) -> None:
        self.deep += 1

    def zero_total(self, **_: int) -> None:
        self.total = 0

    def on_enter_paused(self, **_: int) -> None:
        self.pauses += 1


class _OrderModel(_Data):
    """order: parallel regions; ``In(paid)``/``In(shipped)`` read the model's state list."""

    initial = dict(DATA_SHAPES["order"].data)
    due: int
    held: int
    revenue: int
    declines: int
    parcels: int
    shipments: int
    orders: int

    def positive(self, amount: int, **_: int) -> bool:
        return amount > 0

    def covers(self, amount: int, **_: int) -> bool:
        return bool(amount >= self.due)

    def light(self, weight: int, **_: int) -> bool:
        return weight <= MAX_WEIGHT

    def in_paid(self, **_: int) -> bool:
        return self._active("open_payment_paid")

    def in_shipped(self, **_: int) -> bool:
        return self._active("open_shipping_shipped")

    def placed(self, amount: int, **_: int) -> None:
        self.due = amount

    def hold(self, amount: int, **_: int) -> None:
        self.held = amount

    def declined(self, **_: int) -> None:
        self.declines += 1

    def captured(self, **_: int) -> None:
        self.revenue += self.due

    def packed(self, **_: int) -> None:
        self.parcels += 1

    def on_enter_open(self, **_: int) -> None:
        self.orders += 1

    def on_enter_open_shipping_shipped(self, **_: int) -> None:
        self.shipments += 1


def _t(trigger: str, source: str, dest: str, **more: Any) -> dict[str, Any]:
    return {"trigger": trigger, "source": source, "dest": dest, **more}


def _data_machine(shape: str) -> Any:
    """The data-driven machines: conditions and callbacks are model methods named by string."""
    from transitions import Machine
    from transitions.extensions import HierarchicalMachine

    if shape == "guarded_flat":
        moves = [_t("add", src, dst, conditions="fits", before="added")
                 for src, dst in (("even", "odd"), ("odd", "even"))]
        moves += [_t("add", "even", "full"), _t("add", "odd", "full"),
                  _t("reset", "full", "even", conditions="small_keep", before="kept"),
                  _t("reset", "full", "odd", before="kept")]
        return Machine(model=None, states=["even", "odd", "full"], initial="even",
                       transitions=moves, auto_transitions=False)
    if shape == "guarded_compound":
        work = {"name": "work", "initial": "a", "children": ["a", "b", "c"], "transitions": [
            _t("step", "a", "b", before="stepped"),
            _t("step", "b", "c", conditions="big_step", before="stepped"),
            _t("step", "b", "a", before="stepped"),
            _t("step", "c", "a", before=["stepped", "lapped"]),
        ]}
        moves = [_t("pause", "work", "paused", conditions="in_c", before="deeper"),
                 _t("pause", "work", "paused", conditions="heavy", before="zero_total"),
                 _t("resume", "paused", "work")]
        return HierarchicalMachine(model=None, states=[work, "paused"], initial="work",
                                   transitions=moves, auto_transitions=False)
    if shape == "order":
        payment = {"name": "payment", "initial": "unpaid",
                   "children": ["unpaid", "authorized", "declined", "paid"], "transitions": [
            _t("authorize", "unpaid", "authorized", conditions="covers", before="hold"),
            _t("authorize", "unpaid", "declined", before="declined"),
            _t("retry", "declined", "unpaid"),
            _t("capture", "authorized", "paid", before="captured"),
        ]}
        shipping = {"name": "shipping", "initial": "waiting",
                    "children": ["waiting", "packed", "shipped"], "transitions": [
            _t("pack", "waiting", "packed", conditions="in_paid", before="packed"),
            _t("ship", "packed", "shipped", conditions="light"),
        ]}
        moves = [_t("place", "idle", "open", conditions="positive", before="placed"),
                 _t("close", "open", "idle", conditions="in_shipped")]
        return HierarchicalMachine(model=None, initial="idle", auto_transitions=False,
                                   states=["idle", {"name": "open", "parallel": [payment, shipping]}],
                                   transitions=moves)
    raise ValueError(shape)  # pragma: no cover


_MODELS: dict[str, type[Any]] = {
    "guarded_flat": _FlatModel, "guarded_compound": _CompoundModel, "order": _OrderModel,
}


def _flatten(state: Any) -> list[str]:
    if isinstance(state, str):
        return [state]
    return [leaf for part in state for leaf in _flatten(part)]


class TransitionsAdapter(Adapter):
    """Drives ``transitions.Machine`` / ``HierarchicalMachine`` models through ``trigger``."""

    name = "transitions"
    note = (
        "one shared (Hierarchical)Machine per shape, add_model(obj) per instance, "
        "auto_transitions=False; obj.trigger(event, **payload); conditions and callbacks are "
        "model methods; In() is a condition reading the model's state"
    )

    def build(self, shape: str) -> Any:
        if shape in _MODELS:
            machine = _data_machine(shape)
            machine.bench_model = _MODELS[shape]
            return machine
        return _machine(shape)

    def creator(self, factory: Any) -> Callable[[], Any]:
        add_model = factory.add_model
        model_cls = getattr(factory, "bench_model", _Model)

        def create() -> Any:
            model = model_cls()
            add_model(model)
            return model

        return create

    def bind(self, instance: Any) -> Callable[[str], object]:
        trigger: Callable[[str], object] = instance.trigger
        return trigger

    def bind_data(self, instance: Any) -> Callable[[str, Payload], object]:
        trigger = instance.trigger

        def send(event: str, payload: Payload) -> object:
            return trigger(event, **payload)

        return send

    def run_data(self, instance: Any, stream: Sequence[tuple[str, Payload]]) -> None:
        trigger = instance.trigger
        for event, payload in stream:
            trigger(event, **payload)

    def data(self, instance: Any, keys: Sequence[str]) -> dict[str, int]:
        return {key: getattr(instance, key) for key in keys}

    def leaves(self, instance: Any) -> frozenset[str]:
        # Nested states are spelled "on_a" / "p_r1_x2"; the leaf is the last part.
        return frozenset(name.rsplit("_", 1)[-1] for name in _flatten(instance.state))

    def release(self, factory: Any, instances: Sequence[Any]) -> None:
        # Rebuild the model list once instead of ``remove_model`` (a linear scan per model).
        gone = {id(instance) for instance in instances}
        factory.models[:] = [model for model in factory.models if id(model) not in gone]
