"""``python -m statekeeper.bench tracing``: every mode runs in a process of its own and is reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from statekeeper.bench.__main__ import main
from statekeeper.bench.tracing import MODES, measure


def test_each_mode_commits_its_steps(tmp_path: Path) -> None:
    for mode in MODES:
        assert measure(mode, 64, tmp_path) > 0


def test_quick_run_reports_every_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tracing.json"
    assert main(["tracing", "--rounds", "1", "--events", "64", "--json", str(out)]) == 0
    assert set(json.loads(out.read_text())) == set(MODES)
    table = capsys.readouterr().out
    assert all(what in table for what in MODES.values())
