"""The food-delivery example, operated: who may do what, and what operators see.

``bash scripts/demo-ops`` (or ``python -m statekeeper.examples.food_delivery_ops``) runs
orders of :data:`ops_order_chart` (the food-delivery order of :mod:`.order`, plus a
customer's ``cancel`` and a ``refund`` after delivery) in a SQLite file, on a virtual clock,
with everything issue 19 asks an operator to have:

* **principals and a policy** (:data:`POLICY`): a customer starts and cancels only their own
  order, the order's restaurant accepts it, the offered courier picks it up and delivers it;
  ``Refunded`` is a sensitive state only ``support`` may enter;
* **refusals**: a stranger's start, another customer's cancel, a customer's own refund (the
  event is theirs to ask, the state is support's to enter), a restaurant accepting another's
  order from the command line; each is ``NotAuthorized`` and, where an instance exists, a
  ``denied`` row in its log;
* **structured logs**: every transition, effect attempt and refusal as one JSON line
  (:class:`~statekeeper.logging.JsonFormatter`) in ``<db>.log.jsonl``;
* **Prometheus metrics**: scraped over HTTP from the process's real registry;
* **OpenTelemetry spans** (with the SDK installed): a span per step and per effect attempt,
  kept by the SDK's in-memory exporter and written as JSON lines to ``<db>.spans.jsonl``;
  the customer's request header (:data:`REQUEST_TRACE`) is carried from the start to the
  charge effect the worker runs later and to the step its outcome makes, all in her trace;
* **public and private data**: a courier reading a refunded order sees only the public
  fields and ``hidden`` for the sensitive state; support sees all of it;
* **the command line** over the same file: ``statekeeper send`` (through the same policy,
  loading this module as the application), ``statekeeper audit --outcome denied`` and
  ``statekeeper history``.

This module is also the application for the command line: ``register(client)`` registers the
chart and authorizes it (``statekeeper send --module statekeeper.examples.food_delivery_ops``).
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from statekeeper import (
    Assign,
    Call,
    Chart,
    CompiledChart,
    Effect,
    Final,
    Parallel,
    State,
    Transition,
    VirtualClock,
    compile_chart,
)
from statekeeper.client import Client
from statekeeper.examples._ops_sinks import (
    logs_shown,
    metrics_available,
    metrics_shown,
    spans_shown,
    tracer_provider,
)
from statekeeper.examples.food_delivery import PaymentAPI
from statekeeper.examples.order import FUNCTIONS, GUARDS
from statekeeper.logging import JsonFormatter
from statekeeper.runtime.authz import Allow, NotAuthorized, Policy, Principal
from statekeeper.runtime.state import InstanceState

__all__ = ["CHART", "POLICY", "main", "ops_order_chart", "register"]

CHART = "food_order"
#: the virtual clock starts here (2026-12-07 12:00 UTC), so log times read as times of day
START_AT = 1_796_644_800.0
#: where ``register`` binds the payment effects when the command line loads this module
LEDGER_ENV = "STATEKEEPER_DEMO_LEDGER"
#: the W3C trace context of alice's checkout request, as her web request would carry it
REQUEST_TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

ops_order_chart = Chart(
    CHART, version=1, initial="Placed",
    description="A food-delivery order a customer may cancel and support may refund.",
    data={"order_id": None, "customer": None, "restaurant": None, "total": 0,
          "charge_attempts": 0, "couriers": [], "courier": None, "declined": [], "paid": False},
    states={
        "Placed": State(
            entry=[Call("count_attempt"), Effect("charge", argsexpr="charge_args")],
            on={"done.effect.charge": Transition("OfferedToRestaurant",
                                                 actions=[Assign("paid", value=True)]),
                "error.effect.charge": [Transition("Placed", cond="can_retry_charge"),
                                        Transition("PaymentFailed")]}),
        "OfferedToRestaurant": State(on={"accept": "Preparing", "reject": "Cancelled",
                                         "cancel": "Cancelled"},
                                     after={"5m": "Cancelled"}),
        "Preparing": Parallel(states={
            "Kitchen": State(initial="Cooking", states={
                "Cooking": State(on={"food_ready": "ReadyForPickup"}),
                "ReadyForPickup": State(),
            }),
            "Courier": State(initial="FindingCourier", states={
                "FindingCourier": State(
                    entry=[Call("offer_next_courier")],
                    on={"courier_accepted": Transition("CourierAssigned",
                                                       cond="is_offered_courier"),
                        "courier_declined": Transition("FindingCourier",
                                                       cond="is_offered_courier",
                                                       actions=[Call("remember_decline")])},
                    after={"60s": "FindingCourier"}),
                "CourierAssigned": State(
                    on={"picked_up": Transition("PickedUp", cond="In(ReadyForPickup)")}),
                "PickedUp": State(on={"delivered": "Delivered"}),
            }),
        }),
        "Delivered": State(on={"refund": "Refunded", "close": "Closed"}),
        "Refunded": Final(entry=[Effect("refund", argsexpr="refund_args")]),
        "Closed": Final(),
        "Cancelled": Final(entry=[Effect("refund", argsexpr="refund_args")]),
        "PaymentFailed": Final(),
    },
)


# -- who may do what ---------------------------------------------------------------------------

def own_order(principal: Principal, instance: InstanceState) -> bool:
    """A customer's own order: the one whose data names them as its customer."""
    return bool(instance.data.get("customer") == principal.id)


def own_restaurant(principal: Principal, instance: InstanceState) -> bool:
    """The order's restaurant: the principal's ``restaurant`` attribute names it."""
    return bool(instance.data.get("restaurant") == principal.attributes.get("restaurant"))


def offered_courier(principal: Principal, instance: InstanceState) -> bool:
    """The courier the order is offered to (or assigned to): no other courier."""
    return bool(instance.data.get("courier") == principal.id)


_RESTAURANT = Allow(roles={"restaurant"}, guard=own_restaurant)
_COURIER = Allow(roles={"courier"}, guard=offered_courier)
_CUSTOMER_OR_SUPPORT = [Allow(roles={"customer"}, guard=own_order), Allow(roles={"support"})]

#: the order's policy: events by who sends them; ``Refunded`` entered by support only; the
#: customer (their own order) and support read all of an order, anyone else its public fields
POLICY = Policy(
    start=Allow(roles={"customer"}, guard=own_order),
    events={"accept": _RESTAURANT, "reject": _RESTAURANT, "food_ready": _RESTAURANT,
            "courier_accepted": _COURIER, "courier_declined": _COURIER, "picked_up": _COURIER,
            "delivered": _COURIER, "cancel": _CUSTOMER_OR_SUPPORT,
            "refund": _CUSTOMER_OR_SUPPORT, "close": {"support"}},
    states={"Refunded": {"support"}},
    public={"order_id", "restaurant", "total"},
    read=[Allow(roles={"customer"}, guard=own_order), Allow(roles={"support"})],
)

ALICE = Principal("alice", frozenset({"customer"}))
BOB = Principal("bob", frozenset({"customer"}))
LUIGI = Principal("luigi", frozenset({"restaurant"}), {"restaurant": "trattoria"})
ANA = Principal("ana", frozenset({"courier"}))
SAM = Principal("sam", frozenset({"support"}))


def compile_ops_order() -> CompiledChart:
    """:data:`ops_order_chart` with the order's guards and functions bound."""
    return compile_chart(ops_order_chart, guards=GUARDS, functions=FUNCTIONS)


def register(client: Client, payments: PaymentAPI | None = None) -> None:
    """Register the chart and its policy: the application, for this demo and the command line.

    The payment effects write to the ledger ``$STATEKEEPER_DEMO_LEDGER`` names (a file in
    the temporary folder by default): the command line only delivers events, and leaves
    the effects to a worker.
    """
    if payments is None:
        payments = PaymentAPI(Path(os.environ.get(
            LEDGER_ENV, Path(tempfile.gettempdir()) / "statekeeper-demo.payments.jsonl")), 0)
    client.register(compile_ops_order(), effects={"charge": payments.charge,
                                                  "refund": payments.refund})
    client.authorize(CHART, POLICY)


# -- tracing and public reads -------------------------------------------------------------------

def show_public_view(client: Client, instance: str, out: TextIO) -> bool:
    """A courier's read of an order, and support's: public fields and ``hidden`` vs all."""
    print("== reads: what a courier may see of a refunded order, and what support sees",
          file=out)
    courier = client.get(instance, principal=ANA)
    support = client.get(instance, principal=SAM)
    print(f"  ana (courier):  {courier.state:<9} {dict(sorted(courier.data.items()))}", file=out)
    print(f"  sam (support):  {support.state:<9} {{{len(support.data)} fields: "
          f"{', '.join(sorted(support.data))}}}", file=out)
    return courier.state == "hidden" and set(courier.data) == {"order_id", "restaurant",
                                                                   "total"} \
        and support.state == "Refunded"


# -- the run -----------------------------------------------------------------------------------

class _Run:
    """One run: the client, its clock, and what it prints."""

    def __init__(self, client: Client, clock: VirtualClock, out: TextIO) -> None:
        self.client = client
        self.clock = clock
        self.out = out
        self.refusals: list[str] = []
        self.public_ok = False
        #: the trace context of the customer's request, given to her own order's start
        self.traceparent: str | None = None

    def say(self, text: str) -> None:
        print(text, file=self.out)

    def settle(self) -> None:
        self.client.worker.run_until_idle()

    def send(self, who: Principal, instance: str, event: str, data: Any = None,
             wait: float = 10.0) -> None:
        """Send as ``who``; print the state it led to, or the refusal."""
        self.clock.advance(wait)
        try:
            state = self.client.send(instance, event, data, principal=who)
        except NotAuthorized as exc:
            self.refusals.append(f"{instance}:{event}:{who.id}")
            self.say(f"  {who.id:<6} {event:<17} {instance}  REFUSED: {exc.reason}")
            return
        self.settle()
        self.say(f"  {who.id:<6} {event:<17} {instance}  -> {self.client.get(instance).state}"
                 f"  (rev {state.rev})")

    def start(self, who: Principal, instance: str, data: dict[str, Any]) -> None:
        self.clock.advance(5)
        try:
            self.client.start(CHART, instance, data=data, principal=who,
                              traceparent=self.traceparent if who is ALICE else None)
        except NotAuthorized as exc:
            self.refusals.append(f"{instance}:start:{who.id}")
            self.say(f"  {who.id:<6} {'start':<17} {instance}  REFUSED: {exc.reason}")
            return
        self.settle()
        self.say(f"  {who.id:<6} {'start':<17} {instance}  -> {self.client.get(instance).state}")


def _order(customer: str, order_id: str) -> dict[str, Any]:
    """The data a customer's order starts with (its restaurant, couriers to offer it to)."""
    return {"customer": customer, "restaurant": "trattoria", "couriers": ["ana", "bo"],
            "order_id": order_id, "total": 30}


def _story(run: _Run) -> None:
    run.say("== principals send events; the policy decides (customer, restaurant, courier, "
            "support)")
    run.start(BOB, "o-1", _order("alice", "o-1"))  # not bob's order
    run.start(ALICE, "o-1", _order("alice", "o-1"))
    run.send(BOB, "o-1", "cancel")  # another customer's order
    run.send(LUIGI, "o-1", "accept")
    run.send(ANA, "o-1", "courier_accepted", {"courier": "ana"})
    run.send(LUIGI, "o-1", "food_ready")
    run.send(ANA, "o-1", "picked_up")
    run.send(ANA, "o-1", "delivered", wait=600)
    run.send(ALICE, "o-1", "refund")  # her event to ask; Refunded is support's to enter
    run.send(SAM, "o-1", "refund", wait=300)
    run.public_ok = show_public_view(run.client, "o-1", run.out)
    run.start(ALICE, "o-2", _order("alice", "o-2"))
    run.send(ALICE, "o-2", "cancel")
    run.start(ALICE, "o-3", _order("alice", "o-3"))


def _command(run: _Run, db: Path, ledger: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """Run ``statekeeper ARGV`` in a process of its own over the demo's file; print it all."""
    done = subprocess.run([sys.executable, "-m", "statekeeper", *argv], capture_output=True,
                          text=True, check=False, env={**os.environ, LEDGER_ENV: str(ledger)})
    shown = " ".join(a if a != str(db) else "DB" for a in argv)
    run.say(f"$ statekeeper {shown}    (exit {done.returncode})")
    for line in (done.stdout + done.stderr).rstrip().splitlines():
        run.say(f"    {line}")
    return done


def _command_line(run: _Run, db: Path, ledger: Path) -> bool:
    run.say("== the command line, over the same file")
    app = ["--module", "statekeeper.examples.food_delivery_ops"]
    wrong = _command(run, db, ledger, "send", "--db", str(db), "o-3", "accept", *app,
                     "--principal", "mario", "--role", "restaurant",
                     "--attribute", "restaurant=pizzeria")
    right = _command(run, db, ledger, "send", "--db", str(db), "o-3", "accept", *app,
                     "--principal", "luigi", "--role", "restaurant",
                     "--attribute", "restaurant=trattoria")
    audit = _command(run, db, ledger, "audit", "--db", str(db), "--outcome", "denied")
    history = _command(run, db, ledger, "history", "--db", str(db), "o-1")
    return (wrong.returncode == 1 and right.returncode == 0 and audit.returncode == 0
            and history.returncode == 0)


def run_demo(db: Path, out: TextIO) -> int:
    """Run the story on ``db`` (a new file), then show logs, metrics and the command line."""
    ledger = db.with_suffix(".payments.jsonl")
    log_path = db.with_suffix(".log.jsonl")
    handler = logging.FileHandler(log_path)
    handler.setFormatter(JsonFormatter(static={"service": "food-delivery"}))
    logger = logging.getLogger("statekeeper")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    spans_path = db.with_suffix(".spans.jsonl")
    provider, exporter = tracer_provider()
    clock = VirtualClock(START_AT)
    try:
        metered = metrics_available()
        with Client(f"sqlite:///{db}", clock=clock, worker=False, log_level=logging.INFO,
                    metrics=metered, tracing=provider if provider is not None else False
                    ) as client:
            register(client, PaymentAPI(ledger, failures=0))
            run = _Run(client, clock, out)
            run.traceparent = REQUEST_TRACE if provider is not None else None
            _story(run)
            denied_logged = logs_shown(run.say, log_path)
            scraped = metrics_shown(run.say, CHART) if metered else True
            if not metered:
                run.say("== Prometheus metrics: install statekeeper[metrics] to see them")
            traced = True
            if provider is not None:
                provider.shutdown()  # every span written
                traced = spans_shown(run.say, exporter, spans_path, REQUEST_TRACE)
            else:
                run.say("== OpenTelemetry spans: install opentelemetry-sdk to see them")
            final = {i: client.get(i).state for i in ("o-1", "o-2")}
        cli_ok = _command_line(run, db, ledger)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        handler.close()
    expected = ["o-1:start:bob", "o-1:cancel:bob", "o-1:refund:alice"]
    ok = (run.refusals == expected and final == {"o-1": "Refunded", "o-2": "Cancelled"}
          and denied_logged == len(expected) and scraped and cli_ok and traced
          and run.public_ok)
    print("== ops demo finished: " + ("OK" if ok else "UNEXPECTED RESULT"), file=out)
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    """Run the operated demo; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m statekeeper.examples.food_delivery_ops",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--db", type=Path, default=None,
                        help="the SQLite file (default: a new one in a temporary folder)")
    args = parser.parse_args(argv)
    db = args.db or Path(tempfile.mkdtemp(prefix="statekeeper-ops-")) / "orders.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    for stale in (db, db.with_suffix(".payments.jsonl"), db.with_suffix(".log.jsonl"),
                  db.with_suffix(".spans.jsonl"),
                  Path(f"{db}-wal"), Path(f"{db}-shm")):
        stale.unlink(missing_ok=True)
    print(f"== food-delivery orders, operated, in {db}", file=sys.stdout)
    return run_demo(db, sys.stdout)


if __name__ == "__main__":
    raise SystemExit(main())
