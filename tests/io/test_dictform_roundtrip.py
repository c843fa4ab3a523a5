"""Property: the dict, JSON and YAML forms of a chart read back to the same chart."""

from __future__ import annotations

import json

import pytest
from dictform_charts import BINDINGS, charts
from hypothesis import HealthCheck, given, settings

from statekeeper import Chart, compile_chart
from statekeeper.core.durations import parse_duration
from statekeeper.io.dictform import (
    ChartFormatError,
    chart_from_dict,
    chart_from_json,
    chart_from_yaml,
    chart_to_dict,
    chart_to_json,
    chart_to_yaml,
)

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def stuck_after(chart: Chart) -> dict[str, float]:
    """Each state's ``stuck_after`` in seconds: not in the hash, so compared on its own."""
    found, todo = {}, list(chart.children)
    while todo:
        state = todo.pop()
        todo.extend(state.children)
        if state.stuck_after is not None:
            found[str(state.id)] = parse_duration(state.stuck_after)
    return found


def structure_hash(chart: Chart) -> str:
    return compile_chart(chart, guards=BINDINGS, functions=BINDINGS, trusted=True,
                         checks="ignore").hash


@SETTINGS
@given(charts())
def test_dict_round_trip_keeps_the_structure_hash(chart: Chart) -> None:
    doc = chart_to_dict(chart)
    again = chart_from_dict(doc)
    assert structure_hash(again) == structure_hash(chart)
    assert stuck_after(again) == stuck_after(chart)
    assert chart_to_dict(again) == doc
    assert chart_from_dict(chart_to_dict(again)) == again  # a read chart rereads equal
    json.dumps(doc, allow_nan=False)  # the dict form is plain JSON data


@SETTINGS
@given(charts())
def test_json_round_trip(chart: Chart) -> None:
    again = chart_from_json(chart_to_json(chart))
    assert structure_hash(again) == structure_hash(chart)
    assert stuck_after(again) == stuck_after(chart)
    assert chart_to_dict(again) == chart_to_dict(chart)


@settings(SETTINGS, max_examples=40)
@given(charts())
def test_yaml_round_trip(chart: Chart) -> None:
    text = chart_to_yaml(chart)
    again = chart_from_yaml(text)
    assert structure_hash(again) == structure_hash(chart)
    assert stuck_after(again) == stuck_after(chart)
    assert chart_to_dict(again) == chart_to_dict(chart)
    assert chart_from_yaml(chart_to_yaml(again)) == again


@settings(SETTINGS, max_examples=20)
@given(charts(python=True))
def test_charts_that_hold_code_are_not_written(chart: Chart) -> None:
    structure_hash(chart)  # a valid chart, in Python
    with pytest.raises(ChartFormatError, match="never code"):
        chart_to_dict(chart)


def test_charts_from_the_runtime_strategy_round_trip_too() -> None:
    strategies = pytest.importorskip(
        "statekeeper.testing.strategies", reason="the strategies need hypothesis (the dev extra)")

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(strategies.charts())
    def check(generated: object) -> None:
        chart = generated.chart  # type: ignore[attr-defined]
        again = chart_from_yaml(chart_to_yaml(chart))
        assert again.datamodel == chart.datamodel
        assert generated.compile().hash == compile_chart(  # type: ignore[attr-defined]
            again, guards=generated.guards, functions=generated.functions,  # type: ignore[attr-defined]
            checks="ignore").hash

    check()
