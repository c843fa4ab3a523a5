"""An effect's policy is checked when the chart is compiled and handed on as plain data."""

from __future__ import annotations

from typing import Any

import pytest

from statekeeper import Chart, ChartError, Effect, Final, State, compile_chart
from statekeeper.io.dictform import chart_from_dict, chart_to_dict
from statekeeper.resilience import Retry


def _chart(*effects: Effect) -> Chart:
    return Chart("pay", initial="charging", states={
        "charging": State(entry=list(effects), on={"done.effect.charge": "paid"}),
        "paid": Final(),
    })


def test_a_retry_object_becomes_plain_data() -> None:
    retry = Retry(5, base_delay="1s", max_delay="1m", retry_on=(OSError,))
    chart = compile_chart(_chart(Effect("charge", retry=retry, timeout="5s", breaker="payments",
                                        bulkhead=4, rate="10/s")))
    policy = chart.effect_policies["charge"]
    assert policy == {"retry": retry.to_dict(), "timeout": 5.0, "breaker": "payments",
                      "bulkhead": 4, "rate": "10/s"}
    assert Retry.from_dict(policy["retry"]) == retry


def test_an_effect_without_policy_has_an_empty_one() -> None:
    assert compile_chart(_chart(Effect("charge"))).effect_policies == {"charge": {}}


@pytest.mark.parametrize(("effect", "message"), [
    (Effect("charge", retry={"max_atempts": 3}), "unknown retry setting 'max_atempts' "
                                                 "(did you mean 'max_attempts'?)"),
    (Effect("charge", retry=3), "retry must be a Retry or a mapping"),
    (Effect("charge", timeout="soon"), "timeout"),
    (Effect("charge", timeout=0), "timeout of 0"),
    (Effect("charge", breaker=""), "breaker must be"),
    (Effect("charge", bulkhead=0), "bulkhead must be"),
    (Effect("charge", rate=-1), "rate must be"),
])
def test_a_bad_policy_fails_at_compile_time_naming_the_state(effect: Effect, message: str) -> None:
    with pytest.raises(ChartError, match="charging") as caught:
        compile_chart(_chart(effect))
    assert message in str(caught.value)


def test_one_effect_name_has_one_policy() -> None:
    with pytest.raises(ChartError, match="another policy"):
        compile_chart(_chart(Effect("charge", retry={"max_attempts": 2}),
                             Effect("charge", retry={"max_attempts": 3})))


def test_the_dict_form_round_trips_the_policy() -> None:
    chart = _chart(Effect("charge", args={"amount": 5}, retry=Retry(4, base_delay=2),
                          timeout="5s", breaker="payments", bulkhead=2, rate="5/s"))
    form: dict[str, Any] = chart_to_dict(chart)
    effect = form["states"]["charging"]["entry"][0]["effect"]
    assert effect["retry"]["max_attempts"] == 4 and effect["timeout"] == "5s"
    again = chart_from_dict(form)
    assert compile_chart(again).hash == compile_chart(chart_from_dict(chart_to_dict(again))).hash
    assert compile_chart(again).effect_policies == compile_chart(chart).effect_policies


def test_the_dict_form_refuses_a_bad_retry() -> None:
    form = chart_to_dict(_chart(Effect("charge")))
    form["states"]["charging"]["entry"][0]["effect"] = {"name": "charge", "retry": 3}
    with pytest.raises(ChartError, match="retry"):
        chart_from_dict(form)


def test_a_deadline_is_checked_and_kept() -> None:
    chart = compile_chart(_chart(Effect("charge", retry=Retry(5), deadline="2m")))
    assert chart.effect_policies["charge"]["deadline"] == 120.0
    with pytest.raises(ChartError, match=r"charging.*deadline|deadline.*charging"):
        compile_chart(_chart(Effect("charge", deadline="soon")))
    again = chart_from_dict(chart_to_dict(_chart(Effect("charge", deadline="2m"))))
    assert compile_chart(again).effect_policies["charge"]["deadline"] == 120.0


def test_a_deadline_leaves_existing_chart_hashes_alone() -> None:
    """Charts without a deadline hash as before it existed (stored instances still match)."""
    from statekeeper.core.hashing import canonical

    assert "deadline" not in repr(canonical(Effect("charge", retry=Retry(2))))
    assert "deadline" in repr(canonical(Effect("charge", deadline="2m")))
    assert compile_chart(_chart(Effect("charge"))).hash != \
        compile_chart(_chart(Effect("charge", deadline="2m"))).hash
