"""Charts in several versions, and the migrations between them (docs/versioning.md).

The onboarding drip of DESIGN.md: version 2 looks up the acquisition channel first, and sends
the welcome through an effect of another name; instances already past the welcome move to v2
by a state map and a data map, with no version checks in the chart.

The food-delivery order: v1 offers the order to the restaurant and then looks for a courier;
v2 looks for the courier at once, beside the restaurant (courier-first); v3 lets the
restaurant deliver itself, and calls a picked-up order "out for delivery".
"""

from __future__ import annotations

from typing import Any

from statekeeper import Assign, Call, Chart, Effect, Final, Migration, Parallel, State, Transition

__all__ = [
    "ONBOARDING_FUNCTIONS",
    "ONBOARDING_V1",
    "ONBOARDING_V1_TO_V2",
    "ONBOARDING_V2",
    "ORDER_V1",
    "ORDER_V1_TO_V2",
    "ORDER_V2",
    "ORDER_V2_TO_V3",
    "ORDER_V3",
]

ONBOARDING_V1 = Chart("onboarding", version=1, initial="SendingWelcome", states={
    "SendingWelcome": State(entry=[Effect("send_welcome")],
                            on={"done.effect.send_welcome": "Waiting"}),
    "Waiting": State(after={"1d": "SendingFirstDrip"}),
    "SendingFirstDrip": State(entry=[Effect("send_drip")],
                              on={"done.effect.send_drip": "Done"}),
    "Done": Final(),
})

ONBOARDING_V2 = Chart("onboarding", version=2, initial="LookingUpChannel", states={
    "LookingUpChannel": State(
        entry=[Effect("lookup_channel")],
        on={"done.effect.lookup_channel": Transition(
            "SendingWelcome", actions=[Call("remember_channel")])}),
    "SendingWelcome": State(entry=[Effect("send_welcome_email")],
                            on={"done.effect.send_welcome_email": "Waiting"}),
    "Waiting": State(after={"1d": "SendingFirstDrip"}),
    "SendingFirstDrip": State(entry=[Effect("send_drip")],
                              on={"done.effect.send_drip": "Done"}),
    "Done": Final(),
}, data={"channel": None})


def _remember_channel(data: dict[str, Any], event: Any) -> dict[str, Any]:
    return {**data, "channel": (event.data or {}).get("channel")}


#: the functions v2 of the onboarding drip is registered with
ONBOARDING_FUNCTIONS = {"remember_channel": _remember_channel}


def _channel_unknown(data: dict[str, Any]) -> dict[str, Any]:
    """v1 never looked the channel up: say so, rather than guess."""
    return {**data, "channel": "unknown"}


#: every v1 state exists in v2: the map is empty; the welcome in flight is answered under
#: v2's name for it
ONBOARDING_V1_TO_V2 = Migration(
    "onboarding", 1, 2, data=_channel_unknown,
    outcomes={"done.effect.send_welcome": "done.effect.send_welcome_email"})


ORDER_V1 = Chart("order", version=1, initial="Placed", data={"paid": False}, states={
    "Placed": State(entry=[Effect("charge")], on={
        "done.effect.charge": Transition("OfferedToRestaurant",
                                         actions=[Assign("paid", value=True)])}),
    "OfferedToRestaurant": State(on={"accept": "Preparing", "reject": "Cancelled"},
                                 after={"5m": "Cancelled"}),
    "Preparing": Parallel(states={
        "Kitchen": State(initial="Cooking", states={
            "Cooking": State(on={"food_ready": "ReadyForPickup"}),
            "ReadyForPickup": State(),
        }),
        "Courier": State(initial="FindingCourier", states={
            "FindingCourier": State(on={"courier_accepted": "CourierAssigned"},
                                    after={"60s": "FindingCourier"}),
            "CourierAssigned": State(on={"picked_up": "PickedUp"}),
            "PickedUp": State(on={"delivered": "Delivered"}),
        }),
    }),
    "Delivered": Final(),
    "Cancelled": Final(entry=[Effect("refund")]),
})

ORDER_V2 = Chart("order", version=2, initial="Placed", data={"paid": False}, states={
    "Placed": State(entry=[Effect("charge")], on={
        "done.effect.charge": Transition("Dispatching", actions=[Assign("paid", value=True)])}),
    "Dispatching": Parallel(states={
        "Restaurant": State(initial="AwaitingRestaurant", states={
            "AwaitingRestaurant": State(on={"accept": "Cooking", "reject": "Cancelled"},
                                        after={"5m": "Cancelled"}),
            "Cooking": State(on={"food_ready": "ReadyForPickup"}),
            "ReadyForPickup": State(),
        }),
        "Courier": State(initial="FindingCourier", states={
            "FindingCourier": State(on={"courier_accepted": "CourierAssigned"},
                                    after={"60s": "FindingCourier"}),
            "CourierAssigned": State(on={"picked_up": "PickedUp"}),
            "PickedUp": State(on={"delivered": "Delivered"}),
        }),
    }),
    "Delivered": Final(),
    "Cancelled": Final(entry=[Effect("refund")]),
})

#: the restaurant's answer is awaited beside the courier search now: an order still offered
#: waits for the restaurant (its 5-minute timer keeps its due time) and starts its courier
#: search at once (the 60 s offer timer is armed at the migration)
ORDER_V1_TO_V2 = Migration("order", 1, 2, states={
    "OfferedToRestaurant": "AwaitingRestaurant",
    "Preparing": "Dispatching",
    "Kitchen": "Restaurant",  # its Cooking and ReadyForPickup keep their ids in v2
})

ORDER_V3 = Chart("order", version=3, initial="Placed", data={"paid": False}, states={
    "Placed": State(entry=[Effect("charge")], on={
        "done.effect.charge": Transition("Dispatching", actions=[Assign("paid", value=True)])}),
    "Dispatching": Parallel(states={
        "Restaurant": State(initial="AwaitingRestaurant", states={
            "AwaitingRestaurant": State(on={"accept": "Cooking", "reject": "Cancelled"},
                                        after={"5m": "Cancelled"}),
            "Cooking": State(on={"food_ready": "ReadyForPickup"}),
            "ReadyForPickup": State(),
        }),
        "Courier": State(initial="FindingCourier", states={
            "FindingCourier": State(on={"courier_accepted": "CourierAssigned",
                                        "self_delivery": "SelfDelivering"},
                                    after={"60s": "FindingCourier"}),
            "CourierAssigned": State(on={"picked_up": "OutForDelivery"}),
            "OutForDelivery": State(on={"delivered": "Delivered"}),
            "SelfDelivering": State(on={"delivered": "Delivered"}),
        }),
    }),
    "Delivered": Final(),
    "Cancelled": Final(entry=[Effect("refund")]),
})

ORDER_V2_TO_V3 = Migration("order", 2, 3, states={"PickedUp": "OutForDelivery"})
