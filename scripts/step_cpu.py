"""CPU time per event of two data-driven charts, statekeeper beside ``transitions``.

A developer's measuring tool for the compiled step (not the README's benchmark, which is
``python -m statekeeper.bench dispatch``): a guarded flat chart with data, payload guards and
assigns ("ledger"), and an order lifecycle with compound and parallel states, ``In()``,
assigns and entry actions ("order").  Each library runs the same event stream, interleaved in
rounds so noise hits both; the final state and data are checked against a reference model.

    .venv/bin/python scripts/step_cpu.py [events] [rounds]
    .venv/bin/python scripts/step_cpu.py run CHART LIBRARY EVENTS   # one run, for valgrind

Instructions per event, steady on a busy machine: run ``run`` under
``valgrind --tool=cachegrind --cache-sim=no`` with 1,000 and 4,000 events and divide the
difference of the ``I refs`` by 3,000 (start-up and imports cancel out).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from statekeeper import Chart, Machine, Parallel, State, Transition, compile_chart
from statekeeper.core.actions import Assign

LIMIT = 1_000_000


# ---------------------------------------------------------------- the ledger (flat, guarded)


def ledger_stream(n: int) -> list[tuple[str, dict[str, int]]]:
    """Deposit / withdraw pairs; every tenth deposit is too large (taken to ``review``)."""
    out: list[tuple[str, dict[str, int]]] = []
    i = 0
    while len(out) < n:
        big = i % 10 == 9
        out.append(("deposit", {"amount": 2 * LIMIT if big else 5 + i % 7}))
        out.append(("release", {}) if big else ("withdraw", {"amount": 3}))
        i += 1
    return out[:n]


def ledger_model(stream: list[tuple[str, dict[str, int]]]) -> tuple[str, int, int]:
    state, balance, count = "idle", 0, 0
    for name, payload in stream:
        if state == "idle" and name == "deposit":
            amount = payload["amount"]
            if amount > 0 and balance + amount <= LIMIT:
                state, balance, count = "busy", balance + amount, count + 1
            else:
                state = "review"
        elif state == "busy" and name == "withdraw" and balance >= payload["amount"]:
            state, balance, count = "idle", balance - payload["amount"], count + 1
        elif state == "review" and name == "release":
            state = "idle"
        else:
            raise AssertionError(f"model: {name} not accepted in {state}")
    return state, balance, count


def ledger_statekeeper() -> Callable[[list[Any]], tuple[str, int, int]]:
    chart = compile_chart(Chart("ledger", initial="idle", data={"balance": 0, "count": 0}, states={
        "idle": State(on={"deposit": [
            Transition("busy", cond="fits", actions=(
                Assign("balance", expr="plus"), Assign("count", expr="inc"))),
            Transition("review"),
        ]}),
        "busy": State(on={"withdraw": Transition("idle", cond="covered", actions=(
            Assign("balance", expr="minus"), Assign("count", expr="inc")))}),
        "review": State(on={"release": "idle"}),
    }), guards={
        "fits": lambda d, e: e.data["amount"] > 0 and d["balance"] + e.data["amount"] <= LIMIT,
        "covered": lambda d, e: d["balance"] >= e.data["amount"],
    }, functions={
        "plus": lambda d, e: d["balance"] + e.data["amount"],
        "minus": lambda d, e: d["balance"] - e.data["amount"],
        "inc": lambda d, e: d["count"] + 1,
    })

    def run(stream: list[Any]) -> tuple[str, int, int]:
        m = Machine(chart)
        send = m.send
        for name, payload in stream:
            send(name, payload)
        return m.configuration[-1], m.data["balance"], m.data["count"]

    return run


def ledger_transitions() -> Callable[[list[Any]], tuple[str, int, int]]:
    from transitions import Machine as TMachine

    class Model:
        def __init__(self) -> None:
            self.balance = 0
            self.count = 0

        def fits(self, amount: int) -> bool:
            return amount > 0 and self.balance + amount <= LIMIT

        def covered(self, amount: int) -> bool:
            return self.balance >= amount

        def plus(self, amount: int) -> None:
            self.balance += amount
            self.count += 1

        def minus(self, amount: int) -> None:
            self.balance -= amount
            self.count += 1

    def run(stream: list[Any]) -> tuple[str, int, int]:
        model = Model()
        TMachine(model=model, states=["idle", "busy", "review"], initial="idle",
                 auto_transitions=False, transitions=[
                     {"trigger": "deposit", "source": "idle", "dest": "busy",
                      "conditions": "fits", "after": "plus"},
                     {"trigger": "deposit", "source": "idle", "dest": "review"},
                     {"trigger": "withdraw", "source": "busy", "dest": "idle",
                      "conditions": "covered", "after": "minus"},
                     {"trigger": "release", "source": "review", "dest": "idle"},
                 ])
        trigger = model.trigger
        for name, payload in stream:
            trigger(name, **payload)
        return model.state, model.balance, model.count

    return run


# ---------------------------------------------------------------- the order (compound, parallel)

ORDER_CYCLE = ("submit", "pay", "pack", "ship", "reset")


def order_stream(n: int) -> list[tuple[str, dict[str, int]]]:
    return [(ORDER_CYCLE[i % 5], {"amount": 10} if i % 5 in (0, 1) else {}) for i in range(n)]


def order_model(stream: list[tuple[str, dict[str, int]]]) -> tuple[str, int, int]:
    """(last leaf, orders completed, entries of ``shipped``)."""
    done = shipped = 0
    for i, _ in enumerate(stream):
        if i % 5 == 3:
            shipped += 1
            done += 1
    last = {0: "pending", 1: "packing", 2: "paid", 3: "ready", 4: "completed"}[len(stream) % 5]
    return last, done, shipped


def order_statekeeper() -> Callable[[list[Any]], tuple[str, int, int]]:
    chart = compile_chart(Chart("order", initial="pending",
                                data={"total": 0, "paid": 0, "done": 0, "shipped": 0}, states={
        "pending": State(on={"submit": Transition("processing", cond="has_amount",
                                                  actions=(Assign("total", expr="amount"),))}),
        "processing": Parallel(states={
            "payment": State(initial="unpaid", states={
                "unpaid": State(on={"pay": Transition("paid", cond="pays_total",
                                                      actions=(Assign("paid", expr="amount"),))}),
                "paid": State(kind="final"),
            }),
            "shipping": State(initial="packing", states={
                "packing": State(on={"pack": "ready"}),
                "ready": State(on={"ship": Transition("shipped", cond="In(paid)")}),
                "shipped": State(kind="final", entry=(Assign("shipped", expr="ship_count"),)),
            }),
        }, on={"done.state.processing": "completed"}),
        "completed": State(entry=(Assign("done", expr="done_count"),),
                           on={"reset": Transition("pending", actions=(
                               Assign("total", value=0), Assign("paid", value=0)))}),
    }), guards={
        "has_amount": lambda d, e: e.data["amount"] > 0,
        "pays_total": lambda d, e: e.data["amount"] == d["total"],
    }, functions={
        "amount": lambda d, e: e.data["amount"],
        "ship_count": lambda d, e: d["shipped"] + 1,
        "done_count": lambda d, e: d["done"] + 1,
    })

    def run(stream: list[Any]) -> tuple[str, int, int]:
        m = Machine(chart)
        send = m.send
        for name, payload in stream:
            send(name, payload)
        return m.configuration[-1], m.data["done"], m.data["shipped"]

    return run


def order_transitions() -> Callable[[list[Any]], tuple[str, int, int]]:
    from transitions.extensions import HierarchicalMachine

    class Model:
        def __init__(self) -> None:
            self.total = self.paid = self.done = self.shipped = 0

        def has_amount(self, amount: int = 0) -> bool:
            return amount > 0

        def set_total(self, amount: int = 0) -> None:
            self.total = amount

        def pays_total(self, amount: int = 0) -> bool:
            return amount == self.total

        def set_paid(self, amount: int = 0) -> None:
            self.paid = amount

        def is_paid(self, **_: Any) -> bool:
            return "processing_payment_paid" in self.state

        def on_enter_processing_shipping_shipped(self, **_: Any) -> None:
            self.shipped += 1

        def on_enter_completed(self, **_: Any) -> None:
            self.done += 1

        def clear(self, **_: Any) -> None:
            self.total = self.paid = 0

    states = ["pending", "completed", {"name": "processing", "parallel": [
        {"name": "payment", "children": ["unpaid", "paid"], "initial": "unpaid"},
        {"name": "shipping", "children": ["packing", "ready", "shipped"], "initial": "packing"},
    ]}]

    def run(stream: list[Any]) -> tuple[str, int, int]:
        model = Model()
        HierarchicalMachine(model=model, states=states, initial="pending",
                                auto_transitions=False, transitions=[
            {"trigger": "submit", "source": "pending", "dest": "processing",
             "conditions": "has_amount", "after": "set_total"},
            {"trigger": "pay", "source": "processing_payment_unpaid",
             "dest": "processing_payment_paid", "conditions": "pays_total", "after": "set_paid"},
            {"trigger": "pack", "source": "processing_shipping_packing",
             "dest": "processing_shipping_ready"},
            {"trigger": "ship", "source": "processing_shipping_ready",
             "dest": "processing_shipping_shipped", "conditions": "is_paid"},
            {"trigger": "reset", "source": "completed", "dest": "pending", "after": "clear"},
            {"trigger": "finish", "source": "processing", "dest": "completed"},
        ])
        trigger = model.trigger
        for name, payload in stream:
            trigger(name, **payload)
            if name == "ship":  # both regions final: leave the parallel state as SCXML does
                model.trigger("finish")
        state = model.state if isinstance(model.state, str) else model.state[-1]
        return state.rsplit("_", 1)[-1], model.done, model.shipped

    return run


# ---------------------------------------------------------------- measuring


def measure(run: Callable[[list[Any]], Any], stream: list[Any]) -> float:
    start = time.process_time()
    run(stream)
    return (time.process_time() - start) / len(stream) * 1e6


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "run":
        chart, lib, count = sys.argv[2], sys.argv[3], int(sys.argv[4])
        stream = globals()[f"{chart}_stream"](count)
        got = globals()[f"{chart}_{lib}"]()(stream)
        if got != globals()[f"{chart}_model"](stream):
            raise SystemExit(f"{chart}/{lib}: final {got} differs from the model")
        return
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    cases = {
        "ledger": (ledger_stream, ledger_model,
                   {"statekeeper": ledger_statekeeper, "transitions": ledger_transitions}),
        "order": (order_stream, order_model,
                  {"statekeeper": order_statekeeper, "transitions": order_transitions}),
    }
    for chart, (make, model, libs) in cases.items():
        stream = make(events)
        expected = model(stream)
        runners = {name: build() for name, build in libs.items()}
        for name, run in runners.items():
            got = run(stream[:995])
            want = model(stream[:995])
            if got != want:
                raise SystemExit(f"{chart}/{name}: final {got} != model {want}")
            got = run(stream)
            if got != expected:
                raise SystemExit(f"{chart}/{name}: final {got} != model {expected}")
        best = {name: float("inf") for name in runners}
        for _ in range(rounds):
            for name, run in runners.items():
                best[name] = min(best[name], measure(run, stream))
        base = best["statekeeper"]
        shown = ", ".join(f"{n} {v:.2f} µs ({v / base:.2f}x)" for n, v in best.items())
        print(f"{chart}: CPU per event, best of {rounds} x {events:,}: {shown}")


if __name__ == "__main__":
    main()
