"""The order chart the effect tests share: placed, then charging (an effect), then paid or failed."""

from __future__ import annotations

from statekeeper import Chart, Effect, Final, State

ORDER = Chart("order", version=1, initial="placed", states={
    "placed": State(on={"accept": "charging"}),
    "charging": State(entry=[Effect("charge", args={"amount": 42})],
                      on={"done.effect.charge": "paid", "error.effect.charge": "failed"}),
    "paid": Final(),
    "failed": Final(),
})
