"""The example charts in docs/examples/*.yaml load, compile strictly and behave as documented."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from statekeeper import CompiledChart, Machine, VirtualClock, compile_chart
from statekeeper.examples import order
from statekeeper.io.dictform import chart_from_yaml, chart_to_yaml, load_chart

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
PATHS = sorted(EXAMPLES.glob("*.yaml"))
Bindings = tuple[Mapping[str, Callable[..., Any]], Mapping[str, Callable[..., Any]]]
#: The guards and functions of the examples that name any (the others need none).
BINDINGS: dict[str, Bindings] = {"order": (order.GUARDS, order.FUNCTIONS)}


def compile_example(name: str) -> CompiledChart:
    guards, functions = BINDINGS.get(name, ({}, {}))
    return compile_chart(load_chart(EXAMPLES / f"{name}.yaml"), guards=guards,
                         functions=functions, checks="error")


def test_there_are_examples() -> None:
    assert {p.stem for p in PATHS} >= {"order", "onboarding", "connection", "subscription",
                                       "payment_saga"}


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_example_loads_and_compiles_without_warnings(path: Path) -> None:
    compiled = compile_example(path.stem)
    assert compiled.name == path.stem
    again = chart_from_yaml(chart_to_yaml(compiled.definition))
    assert again == compiled.definition


def test_order_yaml_is_the_python_order_chart() -> None:
    compiled = compile_example("order")
    assert compiled.definition == order.order_chart
    assert compiled.hash == order.compile_order().hash


def test_order_yaml_runs_to_delivery() -> None:
    charges: list[dict[str, Any]] = []
    m = Machine(compile_example("order"), clock=VirtualClock(),
                data={"couriers": ["ann"], "total": 42, "order_id": "o-1"},
                effects={"charge": lambda args, **_: charges.append(args),
                         "refund": lambda args, **_: None})
    assert m.configuration == ("OfferedToRestaurant",)
    assert charges == [{"order": "o-1", "amount": 42}]
    m.send("accept")
    m.send("courier_accepted", {"courier": "ann"})
    m.send("food_ready")
    m.send("picked_up")
    assert m.send("delivered").done


def test_subscription_activates_when_all_three_confirmations_arrive() -> None:
    m = Machine(compile_example("subscription"), clock=VirtualClock())
    for event in ("entitlement_confirmed", "payment_confirmed", "account_confirmed"):
        m.send(event)
    assert m.configuration == ("Active",)


def test_subscription_waits_for_a_person_after_a_day() -> None:
    clock = VirtualClock()
    m = Machine(compile_example("subscription"), clock=clock)
    m.send("payment_confirmed")
    clock.advance(24 * 3600)
    assert m.configuration == ("PendingVerification",)


def test_payment_saga_compensates_a_failed_charge() -> None:
    calls: list[str] = []

    def effect(name: str, fail: bool = False) -> Callable[..., None]:
        def run(args: Any, **_: Any) -> None:
            calls.append(name)
            if fail:
                raise RuntimeError(f"{name} failed")
        return run

    effects = {name: effect(name) for name in ("reserve_inventory", "release_inventory",
                                               "confirm_order", "refund")}
    effects["charge"] = effect("charge", fail=True)
    m = Machine(compile_example("payment_saga"), clock=VirtualClock(), effects=effects)
    assert m.done and m.configuration == ("Failed",)
    assert calls == ["reserve_inventory", "charge", "release_inventory"]


def test_onboarding_sends_the_drip_a_day_after_the_welcome() -> None:
    clock = VirtualClock()
    sent: list[str] = []
    m = Machine(compile_example("onboarding"), clock=clock,
                effects={"send_email": lambda args, **_: sent.append(args["template"])})
    assert sent == ["welcome"] and m.configuration == ("WaitingToDrip",)
    clock.advance(86400)
    assert sent == ["welcome", "first_drip"] and m.done


def test_connection_stays_disconnected_when_connecting_fails() -> None:
    def connect(args: Any, **_: Any) -> None:
        raise ConnectionError("refused")

    m = Machine(compile_example("connection"), clock=VirtualClock(), effects={"connect": connect})
    m.send("connect")
    assert m.configuration == ("Disconnected",)


def test_the_reference_shows_the_order_chart_as_it_is() -> None:
    reference = (EXAMPLES.parent / "reference" / "chart-format.md").read_text()
    blocks = [b.split("```", 1)[0] for b in reference.split("```yaml\n")[1:]]
    whole = [b for b in blocks if b.startswith("name: order\n")]
    assert len(whole) == 1, "the reference shows the whole order chart once"
    assert chart_from_yaml(whole[0]) == order.order_chart
