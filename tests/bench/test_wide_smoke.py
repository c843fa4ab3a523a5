"""Smoke tests for ``python -m statekeeper.bench wide``: tiny sizes, never timings.

Every library that has parallel regions must reach the reference model's leaves on the wide
shape (the precondition for timing it), and the command must run end to end, cap the
libraries that take too long and name the ones that cannot express the shape.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from statekeeper.bench.__main__ import main
from statekeeper.bench.wide import _check, format_table, measure
from statekeeper.bench.wide_charts import BUILDERS, expected_leaves

_MODULES = {"python-statemachine": "statemachine", "xstate-statemachine": "xstate_statemachine"}


@pytest.mark.parametrize("lib", sorted(BUILDERS))
def test_every_library_reaches_the_reference_leaves(lib: str) -> None:
    if importlib.util.find_spec(_MODULES.get(lib, lib)) is None:
        pytest.skip(f"{lib} is not installed (pip install 'statekeeper[bench]')")
    result = measure(lib, 6, 1)  # raises when an instance is not where the model is
    assert set(result) == {"build_s", "start_s", "tick_s", "one_s"}
    _, start, send, leaves = BUILDERS[lib](4)
    instance = start()
    for event in ("e1", "tick", "e1", "tick", "tick", "e2"):
        send(instance, event)
    assert leaves(instance) == expected_leaves(4, ("e1", "tick", "e1", "tick", "tick", "e2"))


def test_the_reference_model_moves_one_region_on_its_own_event() -> None:
    assert expected_leaves(3, ("e1",)) == {"a0", "c1", "a2"}
    assert expected_leaves(3, ("tick", "e1")) == {"b0", "b1", "b2"}  # e1 only moves a1


def test_a_library_that_ends_elsewhere_is_refused() -> None:
    with pytest.raises(RuntimeError, match="not where the reference model is"):
        _check("somelib", frozenset({"b0", "a1"}), 2, ())


def test_the_command_runs_and_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "wide.json"
    status = main(["wide", "--sizes", "2,5", "--repeats", "1", "--libs", "statekeeper,automat",
                   "--json", str(out)])
    assert status == 0
    table = capsys.readouterr().out
    assert "automat machines are flat" in table
    results = json.loads(out.read_text())["results"]
    assert set(results["statekeeper"]) == {"2", "5"}
    assert results["statekeeper"]["5"]["tick_s"] >= 0
    assert "skipped" in results["automat"]["2"]


def test_a_library_over_the_cap_is_skipped_at_larger_sizes(
        capsys: pytest.CaptureFixture[str]) -> None:
    # a child process cannot even start within a microsecond
    assert main(["wide", "--sizes", "2,3", "--repeats", "1", "--libs", "statekeeper",
                 "--cap", "0.000001"]) == 0
    table = capsys.readouterr().out
    assert "over the cap" in table
    assert "not run" not in table.split("\n")[1]  # the first size is tried, then skipped
    assert format_table({"x": {}}, (1,)).startswith("library")


def test_bad_arguments_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["wide", "--libs", "nosuchlib"]) == 2
    assert main(["wide", "--sizes", "0"]) == 2
    assert "unknown libraries" in capsys.readouterr().err
