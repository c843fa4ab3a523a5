"""The food-delivery order chart (DESIGN.md example 1), with its guards and functions.

The restaurant accepts or rejects; no answer within 5 minutes cancels.  Once accepted, the
kitchen and the courier search run in parallel; a courier who does not answer an offer within
60 s is replaced by the next one, and one who declined cannot accept later.  Charging the card
is an effect: its failures come back as ``error.effect.charge`` and the chart retries it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
    compile_chart,
)

__all__ = ["MAX_CHARGE_ATTEMPTS", "compile_order", "order_chart"]

MAX_CHARGE_ATTEMPTS = 3

order_chart = Chart(
    "order",
    version=1,
    initial="Placed",
    description="A food-delivery order, from placement to delivery.",
    data={"charge_attempts": 0, "couriers": [], "courier": None, "declined": [], "paid": False},
    states={
        "Placed": State(
            entry=[Call("count_attempt"), Effect("charge", argsexpr="charge_args")],
            on={
                "done.effect.charge": Transition("OfferedToRestaurant",
                                                 actions=[Assign("paid", value=True)]),
                "error.effect.charge": [
                    Transition("Placed", cond="can_retry_charge"),
                    Transition("PaymentFailed"),
                ],
            },
        ),
        "OfferedToRestaurant": State(
            on={"accept": "Preparing", "reject": "Cancelled"},
            after={"5m": "Cancelled"},
        ),
        "Preparing": Parallel(
            states={
                "Kitchen": State(initial="Cooking", states={
                    "Cooking": State(on={"food_ready": "ReadyForPickup"}),
                    "ReadyForPickup": State(),
                }),
                "Courier": State(initial="FindingCourier", states={
                    "FindingCourier": State(
                        entry=[Call("offer_next_courier")],
                        on={
                            "courier_accepted": Transition("CourierAssigned",
                                                           cond="is_offered_courier"),
                            "courier_declined": Transition(
                                "FindingCourier", cond="is_offered_courier",
                                actions=[Call("remember_decline")]),
                        },
                        after={"60s": "FindingCourier"},
                    ),
                    "CourierAssigned": State(
                        on={"picked_up": Transition("PickedUp", cond="In(ReadyForPickup)")},
                    ),
                    "PickedUp": State(on={"delivered": "Delivered"}),
                }),
            },
        ),
        "Delivered": Final(),
        "Cancelled": Final(entry=[Effect("refund", argsexpr="refund_args")]),
        "PaymentFailed": Final(),
    },
)


def _count_attempt(data: Mapping[str, Any], event: Any) -> dict[str, Any]:
    return {**data, "charge_attempts": data["charge_attempts"] + 1}


def _can_retry_charge(data: Mapping[str, Any], event: Any) -> bool:
    return bool(data["charge_attempts"] < MAX_CHARGE_ATTEMPTS)


def _charge_args(data: Mapping[str, Any], event: Any) -> dict[str, Any]:
    return {"order": data.get("order_id"), "amount": data.get("total", 0)}


def _refund_args(data: Mapping[str, Any], event: Any) -> dict[str, Any]:
    return {"order": data.get("order_id"), "amount": data.get("total", 0) if data["paid"] else 0}


def _offer_next_courier(data: Mapping[str, Any], event: Any) -> dict[str, Any]:
    candidates = [c for c in data["couriers"] if c not in data["declined"] and c != data["courier"]]
    return {**data, "courier": candidates[0] if candidates else None}


def _is_offered_courier(data: Mapping[str, Any], event: Any) -> bool:
    courier = (event.data or {}).get("courier") if event is not None else None
    return courier is not None and courier == data["courier"] and courier not in data["declined"]


def _remember_decline(data: Mapping[str, Any], event: Any) -> dict[str, Any]:
    return {**data, "declined": [*data["declined"], data["courier"]]}


GUARDS = {"can_retry_charge": _can_retry_charge, "is_offered_courier": _is_offered_courier}
FUNCTIONS = {
    "count_attempt": _count_attempt,
    "charge_args": _charge_args,
    "refund_args": _refund_args,
    "offer_next_courier": _offer_next_courier,
    "remember_decline": _remember_decline,
}


def compile_order() -> CompiledChart:
    """Compile :data:`order_chart` with its guards and functions bound."""
    return compile_chart(order_chart, guards=GUARDS, functions=FUNCTIONS)
