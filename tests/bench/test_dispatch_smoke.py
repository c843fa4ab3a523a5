"""Smoke tests for ``python -m statekeeper.bench dispatch``.

They check that every library computes the same states (and, on the data-driven shapes, the
same data) as the reference model on every shape (the precondition for timing it), that a
library computing something else is caught, and that the command runs end to end and writes
its JSON.  They never assert on timings: numbers depend
on the machine, and a benchmark that fails CI on a busy runner teaches people to ignore it.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from statekeeper.bench.__main__ import main
from statekeeper.bench.adapters import LIBRARIES, Adapter, load_adapters
from statekeeper.bench.agreement import (
    check_agreement,
    check_data_agreement,
    reference_trace,
    trace,
)
from statekeeper.bench.data_shapes import DATA_SHAPE_NAMES, DATA_SHAPES, reference_run
from statekeeper.bench.report import (
    ALL_SHAPES,
    MEMOISED,
    Results,
    format_table,
    to_json,
    verdict,
)
from statekeeper.bench.shapes import SHAPE_NAMES, SHAPES
from statekeeper.bench.timing import Cell, FinalMismatch, time_once

CHECK_EVENTS = 120  # covers every flat20 state many times and the compound pattern ten times
DATA_CHECK_EVENTS = 150  # takes every branch of every data-driven model (checked below)

_MODULES = {
    "python-statemachine": "statemachine",
    "transitions": "transitions",
    "sismic": "sismic",
    "xstate-statemachine": "xstate_statemachine",
    "automat": "automat",
}
PEERS = [lib for lib in LIBRARIES if lib != "statekeeper"]


def _adapter(lib: str) -> Adapter:
    adapters, skipped = load_adapters((lib,))
    if not adapters:
        pytest.skip(f"{lib} is not importable: {skipped.get(lib)}")
    return adapters[0]


def _statekeeper_trace(shape: str) -> list[frozenset[str]]:
    adapter = _adapter("statekeeper")
    events = SHAPES[shape].stream(CHECK_EVENTS)
    return trace(adapter, adapter.build(shape), events)


@pytest.mark.parametrize("shape", SHAPE_NAMES)
def test_statekeeper_agrees_with_the_reference_model(shape: str) -> None:
    adapter = _adapter("statekeeper")
    events = SHAPES[shape].stream(CHECK_EVENTS)
    _, problem = check_agreement(adapter, shape, adapter.build(shape), events)
    assert problem is None, problem


@pytest.mark.parametrize("shape", SHAPE_NAMES)
@pytest.mark.parametrize("lib", PEERS)
def test_peer_agrees_with_statekeeper(lib: str, shape: str) -> None:
    if importlib.util.find_spec(_MODULES[lib]) is None:
        pytest.skip(f"{lib} is not installed (pip install 'statekeeper[bench]')")
    adapter = _adapter(lib)
    if shape not in adapter.shapes:
        pytest.skip(f"{lib} cannot express the {shape} shape (reported as n/a)")
    events = SHAPES[shape].stream(CHECK_EVENTS)
    baseline = _statekeeper_trace(shape)
    _, problem = check_agreement(adapter, shape, adapter.build(shape), events, baseline)
    assert problem is None, f"{lib} on {shape}: {problem}"


def test_streams_are_deterministic_and_valid() -> None:
    flat20 = SHAPES["flat20"].stream(500)
    assert flat20 == SHAPES["flat20"].stream(500)
    assert set(flat20) == set(SHAPES["flat20"].events)
    for shape in SHAPE_NAMES:  # the model raises on an event a state does not handle
        assert len(reference_trace(shape, SHAPES[shape].stream(200))) == 201


@pytest.mark.parametrize("shape", DATA_SHAPE_NAMES)
@pytest.mark.parametrize("lib", LIBRARIES)
def test_every_library_agrees_with_the_model_on_data_driven_shapes(lib: str, shape: str) -> None:
    """Final state and data after each event, on a stream long enough to take every branch."""
    adapter = _adapter(lib)
    if shape not in adapter.shapes:
        assert adapter.cannot.get(shape), f"{lib} is n/a on {shape} without a reason"
        pytest.skip(f"{lib} cannot express {shape}: {adapter.cannot[shape]}")
    stream = DATA_SHAPES[shape].stream(DATA_CHECK_EVENTS)
    problem = check_data_agreement(adapter, shape, adapter.build(shape), stream)
    assert problem is None, f"{lib} on {shape}: {problem}"


def test_data_streams_take_every_branch_of_the_model() -> None:
    """The check above only means something if the streams reach every state and guard outcome."""
    seen: dict[str, set[str]] = {}
    for name, shape in DATA_SHAPES.items():
        leaves, data = shape.initial, dict(shape.data)
        for event, payload in shape.stream(DATA_CHECK_EVENTS):
            leaves, data = shape.step(leaves, data, event, payload)
            seen.setdefault(name, set()).update(leaves)
        assert all(value > 0 for key, value in data.items() if key != "total"), (name, data)
    assert seen["guarded_flat"] == {"even", "odd", "full"}
    assert seen["guarded_compound"] == {"a", "b", "c", "paused"}
    assert seen["order"] == {"idle", "unpaid", "authorized", "declined", "paid", "waiting",
                             "packed", "shipped"}  # fmt: skip


def test_a_library_that_computes_wrong_data_is_caught() -> None:
    """An adapter whose instances count one assign twice must be reported, not timed."""
    from statekeeper.bench.adapters.lib_statekeeper import StatekeeperAdapter

    class Skewed(StatekeeperAdapter):
        def data(self, instance: object, keys: Sequence[str]) -> dict[str, int]:
            found = super().data(instance, keys)
            return {**found, "odds": found["odds"] * 2}

    adapter = Skewed()
    stream = DATA_SHAPES["guarded_flat"].stream(50)
    problem = check_data_agreement(adapter, "guarded_flat", adapter.build("guarded_flat"), stream)
    assert problem is not None and "odds=2 (expected 1)" in problem
    cell = Cell("statekeeper", "guarded_flat", adapter, adapter.build("guarded_flat"), stream,
                reference_run(DATA_SHAPES["guarded_flat"], stream))  # fmt: skip
    with pytest.raises(FinalMismatch, match="odds="):
        time_once(cell)


def test_a_timed_run_is_checked_against_the_model() -> None:
    adapter = _adapter("statekeeper")
    stream = DATA_SHAPES["order"].stream(300)
    leaves, data = reference_run(DATA_SHAPES["order"], stream)
    good = Cell("statekeeper", "order", adapter, adapter.build("order"), stream, (leaves, data))
    time_once(good)
    assert len(good.cpu_ns) == len(good.wall_ns) == 1
    wrong = Cell("statekeeper", "order", adapter, adapter.build("order"), stream,
                 (leaves, {**data, "revenue": data["revenue"] + 1}))  # fmt: skip
    with pytest.raises(FinalMismatch, match="revenue"):
        time_once(wrong)


def test_dispatch_command_writes_the_documented_json(tmp_path: Path) -> None:
    """Every installed library, every shape, tiny sizes: the run agrees and the JSON is whole."""
    out, table = tmp_path / "dispatch.json", tmp_path / "table.md"
    status = main(["dispatch", "--quick", "--max-events", "60", "--repeats", "1",
                   "--instances", "50", "--json", str(out), "--markdown", str(table)])  # fmt: skip
    assert status == 0
    data = json.loads(out.read_text())
    assert list(data["shapes"]) == [*DATA_SHAPE_NAMES, *SHAPE_NAMES]
    assert {"machine", "versions", "settings", "create_us", "bytes_per_instance"} <= set(data)
    assert data["machine"]["cpus"] and len(data["machine"]["load_average_at_start"]) == 3
    adapters, _ = load_adapters()
    assert set(data["versions"]) == {a.name for a in adapters}
    for name, shape in data["shapes"].items():
        assert shape["memoised"] is (name in SHAPE_NAMES)
        assert shape["memo"].startswith("memoised: a cache" if name in SHAPE_NAMES else "not")
        for adapter in adapters:
            lib = adapter.name
            if name in adapter.shapes:
                assert shape["cpu_us_per_event"][lib] > 0, (name, lib)
                assert shape["wall_us_per_event"][lib] > 0, (name, lib)
                assert shape["events"][lib] >= 1
                assert lib in shape["cpu_ratio_to_fastest_peer"]
            else:
                assert shape["not_measured"][lib].startswith("n/a: ")
        fastest = shape["fastest_peer"]
        assert fastest != "statekeeper" and shape["cpu_ratio_to_fastest_peer"][fastest] == 1.0
    first = table.read_text().splitlines()[2]
    assert first.startswith("| guarded_flat | **")


def test_unknown_library_is_a_usage_error() -> None:
    assert main(["dispatch", "--quick", "--only", "no-such-lib"]) == 2


def _results() -> Results:
    results = Results(libraries=["statekeeper", "transitions", "automat"])
    for shape in ALL_SHAPES:
        results.cpu_us[shape] = {"statekeeper": 1.0, "transitions": 4.0}
        results.wall_us[shape] = {"statekeeper": 1.5, "transitions": 5.0}
        results.mark(shape, "automat", "n/a", "no guards")
    results.cpu_us["flat3"]["automat"] = 0.5
    results.cpu_us["guarded_compound"]["statekeeper"] = 3.0
    results.status["flat3"].pop("automat")
    return results


def test_report_gives_ratios_to_the_fastest_peer_and_keeps_reasons() -> None:
    results = _results()
    table = format_table(results)
    assert "1.00 (0.25x)" in table  # statekeeper over transitions, the fastest peer
    assert "4.00 (1.0x)" in table
    assert "1.00 (2.0x)" in table  # flat3: automat is the fastest peer there
    assert table.index("guarded_flat") < table.index("flat3 (memoised)")
    lines = verdict(results)
    assert lines[0].endswith("do NOT all hold:")
    assert "  guarded_compound: 3.00 us (0.75x); <= 0.5x the fastest peer (transitions): MISSED" in lines
    assert "  order: 1.00 us (0.25x); <= 5 us: ok; <= 0.5x the fastest peer (transitions): ok" in lines
    assert "  flat3: 1.00 us (2.0x); <= 1 us: ok" in lines  # static shapes: no ratio target
    data = to_json(results)
    assert data["shapes"]["flat3"]["cpu_ratio_to_fastest_peer"] == {
        "statekeeper": 2.0, "transitions": 8.0, "automat": 1.0}
    assert data["shapes"]["order"]["not_measured"] == {"automat": "n/a: no guards"}
    assert data["shapes"]["order"]["memoised"] is False
    assert "its 'retry' events" in data["shapes"]["order"]["memo"]
    assert data["shapes"]["parallel"]["memo"] == MEMOISED
