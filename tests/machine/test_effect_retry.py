"""In memory, an effect's declared retry policy runs on the machine's clock."""

from __future__ import annotations

import asyncio
from typing import Any

from statekeeper import AsyncMachine, Chart, Effect, Final, Machine, State, VirtualClock
from statekeeper.resilience import Retry


def order(retry: Retry | None) -> Chart:
    return Chart("order", initial="charging", states={
        "charging": State(entry=[Effect("charge", args={"amount": 42}, retry=retry)],
                          on={"done.effect.charge": "paid", "error.effect.charge": "failed"}),
        "paid": Final(),
        "failed": Final(),
    })


class Api:
    def __init__(self, failures: int, error: type[Exception] = ConnectionError) -> None:
        self.failures, self.error, self.calls = failures, error, []

    def charge(self, args: Any, key: str) -> dict[str, int]:
        self.calls.append(key)
        if len(self.calls) <= self.failures:
            raise self.error("card API down")
        return {"charged": args["amount"]}


RETRY = Retry(3, base_delay=1.0, jitter="none", fatal=("ValueError",))


def test_a_failed_effect_is_retried_on_its_schedule() -> None:
    clock, api = VirtualClock(), Api(failures=2)
    m = Machine(order(RETRY), clock=clock, effects={"charge": api.charge})
    assert m.configuration == ("charging",) and len(api.calls) == 1
    clock.advance(0.999)
    assert len(api.calls) == 1
    clock.advance(0.001)
    assert len(api.calls) == 2 and m.configuration == ("charging",)
    clock.advance(2.0)
    assert m.configuration == ("paid",) and len(set(api.calls)) == 1


def test_exhaustion_and_fatal_errors_tell_the_chart_why() -> None:
    clock, api = VirtualClock(), Api(failures=99)
    seen: list[Any] = []
    m = Machine(order(RETRY), clock=clock, effects={"charge": api.charge})
    m.add_listener(lambda micro: seen.append(micro.event))
    clock.advance(10.0)
    assert m.configuration == ("failed",) and len(api.calls) == 3
    fatal = Machine(order(RETRY), clock=clock,
                    effects={"charge": Api(failures=1, error=ValueError).charge})
    assert fatal.configuration == ("failed",)


def test_without_a_policy_one_attempt() -> None:
    api = Api(failures=1)
    assert Machine(order(None), clock=VirtualClock(),
                   effects={"charge": api.charge}).configuration == ("failed",)


def test_close_cancels_a_pending_retry() -> None:
    clock, api = VirtualClock(), Api(failures=1)
    m = Machine(order(RETRY), clock=clock, effects={"charge": api.charge})
    m.close()
    clock.advance(10.0)
    assert len(api.calls) == 1 and m.configuration == ("charging",)


def test_async_machine_retries_too() -> None:
    chart = Chart("order", initial="placed", states={
        "placed": State(on={"pay": "charging"}),
        "charging": State(entry=[Effect("charge", args={"amount": 42}, retry=RETRY)],
                          on={"done.effect.charge": "paid", "error.effect.charge": "failed"}),
        "paid": Final(),
        "failed": Final(),
    })

    async def scenario() -> tuple[tuple[str, ...], int]:
        clock, api = VirtualClock(), Api(failures=2)

        async def charge(args: Any, key: str) -> dict[str, int]:
            return api.charge(args, key)

        m = AsyncMachine(chart, clock=clock, effects={"charge": charge})
        await m.send("pay")
        for _ in range(3):
            clock.advance(2.0)
            for _ in range(5):
                await asyncio.sleep(0)
        return m.configuration, len(api.calls)

    assert asyncio.run(scenario()) == (("paid",), 3)


def test_the_error_event_carries_the_attempts_and_their_errors() -> None:
    from statekeeper import Call, Transition, compile_chart

    clock, seen = VirtualClock(), []
    chart = compile_chart(Chart("order", initial="charging", states={
        "charging": State(entry=[Effect("charge", retry=Retry(2, base_delay=1.0))],
                          on={"error.effect.charge": Transition("failed",
                                                                actions=[Call("keep")])}),
        "failed": Final(),
    }), functions={"keep": lambda data, event: seen.append(event.data)})
    m = Machine(chart, clock=clock, effects={"charge": Api(failures=99).charge})
    clock.advance(5.0)
    assert m.configuration == ("failed",)
    [data] = seen
    assert (data["attempts"], data["reason"], len(data["errors"])) == (2, "exhausted", 2)
