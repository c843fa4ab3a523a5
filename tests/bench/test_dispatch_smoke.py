"""Smoke tests for ``python -m statekeeper.bench dispatch``.

They check that every library computes the same states on every shape (the precondition for
timing it) and that the command runs end to end.  They never assert on timings: numbers depend
on the machine, and a benchmark that fails CI on a busy runner teaches people to ignore it.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from statekeeper.bench.__main__ import main
from statekeeper.bench.adapters import LIBRARIES, Adapter, load_adapters
from statekeeper.bench.agreement import check_agreement, reference_trace, trace
from statekeeper.bench.report import Results, format_table, to_json, verdict
from statekeeper.bench.shapes import SHAPE_NAMES, SHAPES

CHECK_EVENTS = 120  # covers every flat20 state many times and the compound pattern ten times

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


def test_dispatch_command_writes_the_documented_json(tmp_path: Path) -> None:
    out = tmp_path / "dispatch.json"
    status = main(
        ["dispatch", "--quick", "--only", "statekeeper", "--events", "200", "--repeats", "1",
         "--instances", "200", "--json", str(out)]
    )  # fmt: skip
    assert status == 0
    data = json.loads(out.read_text())
    assert set(data) == {"shapes", "create_us", "bytes_per_instance"}
    assert set(data["shapes"]) == set(SHAPE_NAMES)
    for shape in SHAPE_NAMES:
        assert set(data["shapes"][shape]) == {"statekeeper"}
    assert set(data["create_us"]) == {"statekeeper"}
    assert set(data["bytes_per_instance"]) == {"statekeeper"}


def test_unknown_library_is_a_usage_error() -> None:
    assert main(["dispatch", "--quick", "--only", "no-such-lib"]) == 2


def test_report_marks_ratios_status_cells_and_omits_them_from_json() -> None:
    results = Results(libraries=["statekeeper", "automat"])
    for shape in SHAPE_NAMES:
        results.cells[shape]["statekeeper"] = 100.0
    results.cells["flat3"]["automat"] = 790.0
    results.cells["flat20"]["automat"] = "mismatch"
    results.cells["compound"]["automat"] = "n/a"
    results.cells["create_us"].update(statekeeper=1.0, automat=0.5)
    results.cells["bytes_per_instance"].update(statekeeper=300.0, automat=900.0)
    table = format_table(results)
    assert "790 (7.9x)" in table
    assert "mismatch" in table
    assert "n/a" in table
    lines = verdict(results)
    assert lines[0].startswith("targets hold")
    assert "create_us vs automat" in lines[1]
    data = to_json(results)
    assert data["shapes"]["flat3"] == {"statekeeper": 100.0, "automat": 790.0}
    assert data["shapes"]["compound"] == {"statekeeper": 100.0}
    assert data["shapes"]["flat20"] == {"statekeeper": 100.0}
